// A stand-in for tailscaled's named pipe on Windows, for the tests under wine: it serves a
// captured status document (tests/fixtures/localapi) at /localapi/v0/status as tailscaled does
// (docs/localapi.md, "Where the daemon listens" and "HTTP framing and headers"): HTTP/1.1 with
// keep-alive, Host local-tailscaled.sock or 403, a body over Go's 2 KB write buffer chunked, and
// 404 for any other path.
//
//   pipe_server.exe --status FILE [--dns-config FILE] [--pipe NAME] [--ready FILE] [--log FILE] [--lifetime SECONDS]
//
// --pipe defaults to the real daemon's pipe. Once the first pipe instance exists the server writes
// --ready (so a client never meets "no such pipe"); --log gets one line per request, "METHOD
// TARGET host=H cap=C". The server exits 0 after --lifetime seconds (default 60): a test that dies
// leaves nothing running for long.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "tests/windows/pipe_io.hpp"

namespace {

struct Options {
  std::string pipe = R"(\\.\pipe\ProtectedPrefix\Administrators\Tailscale\tailscaled)";
  std::string status_file, dns_config_file, ready_file, log_file;
  int lifetime_s = 60;
};

std::string g_status, g_dns_config;  // g_dns_config empty: 404, as tailscaled before 1.102
std::mutex g_log_mu;
Options g_opts;

void log_line(const std::string& line) {
  if (g_opts.log_file.empty()) return;
  std::lock_guard lk(g_log_mu);
  std::ofstream(g_opts.log_file, std::ios::app | std::ios::binary) << line << '\n';
}

using tb::test::write_all;

std::string header_value(std::string_view head, std::string_view name) {
  std::string lower(head);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = "\r\n" + std::string(name) + ":";
  size_t p = lower.find(key);
  if (p == std::string::npos) return {};
  size_t start = head.find_first_not_of(' ', p + key.size());
  size_t end = head.find("\r\n", start);
  return std::string(head.substr(start, end - start));
}

// The reply tailscaled's Go server would give: Content-Length up to 2 KB, chunked above.
std::string reply(int status, const char* reason, const char* type, const std::string& body) {
  std::ostringstream out;
  out << "HTTP/1.1 " << status << ' ' << reason << "\r\nContent-Type: " << type
      << "\r\nTailscale-Cap: 131\r\nTailscale-Version: 1.94.2-tpipe-server\r\nX-Content-Type-Options: nosniff\r\n";
  if (body.size() <= 2048) {
    out << "Content-Length: " << body.size() << "\r\n\r\n" << body;
    return out.str();
  }
  out << "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t i = 0; i < body.size(); i += 4096) {
    std::string_view part = std::string_view(body).substr(i, 4096);
    out << std::hex << part.size() << std::dec << "\r\n" << part << "\r\n";
  }
  out << "0\r\n\r\n";
  return out.str();
}

std::string answer(std::string_view head) {
  std::string_view line = head.substr(0, head.find("\r\n"));
  std::string method(line.substr(0, line.find(' ')));
  std::string target(line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1));
  std::string host = header_value(head, "host");
  log_line(method + " " + target + " host=" + host + " cap=" + header_value(head, "tailscale-cap"));
  if (host != "local-tailscaled.sock") return reply(403, "Forbidden", "text/plain; charset=utf-8", "invalid localapi request\n");
  std::string path = target.substr(0, target.find('?'));
  if (method == "GET" && path == "/localapi/v0/status") return reply(200, "OK", "application/json", g_status);
  if (method == "GET" && path == "/localapi/v0/dns-config" && !g_dns_config.empty())
    return reply(200, "OK", "application/json", g_dns_config);
  return reply(404, "Not Found", "text/plain; charset=utf-8", "404 page not found\n");
}

// One connection: requests in turn (keep-alive) until the client closes its end.
void serve(HANDLE pipe) {
  std::string buf;
  char tmp[4096];
  for (;;) {
    size_t end = tb::test::read_head(pipe, buf);
    if (end == std::string::npos) break;
    std::string head = buf.substr(0, end + 2);
    size_t body = std::strtoul(header_value(head, "content-length").c_str(), nullptr, 10);
    while (buf.size() < end + 4 + body) {
      DWORD n = 0;
      if (!ReadFile(pipe, tmp, sizeof tmp, &n, nullptr) || n == 0) break;
      buf.append(tmp, n);
    }
    buf.erase(0, std::min(buf.size(), end + 4 + body));
    if (!write_all(pipe, answer(head))) break;
  }
  CloseHandle(pipe);
}

HANDLE new_instance() {
  std::wstring name(g_opts.pipe.begin(), g_opts.pipe.end());
  return CreateNamedPipeW(name.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                          PIPE_UNLIMITED_INSTANCES, 64 * 1024, 64 * 1024, 0, nullptr);
}

bool parse(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--pipe") g_opts.pipe = argv[i + 1];
    else if (flag == "--status") g_opts.status_file = argv[i + 1];
    else if (flag == "--dns-config") g_opts.dns_config_file = argv[i + 1];
    else if (flag == "--ready") g_opts.ready_file = argv[i + 1];
    else if (flag == "--log") g_opts.log_file = argv[i + 1];
    else if (flag == "--lifetime") g_opts.lifetime_s = std::atoi(argv[i + 1]);
    else return false;
  }
  return argc % 2 == 1 && !g_opts.status_file.empty();
}

}  // namespace

int main(int argc, char** argv) {
  if (!parse(argc, argv)) {
    std::fprintf(stderr, "usage: pipe_server.exe --status FILE [--dns-config FILE] [--pipe NAME] [--ready FILE] [--log FILE] [--lifetime S]\n");
    return 2;
  }
  std::ifstream in(g_opts.status_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "pipe_server: cannot read %s\n", g_opts.status_file.c_str());
    return 66;
  }
  g_status.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!g_opts.dns_config_file.empty()) {
    std::ifstream dns(g_opts.dns_config_file, std::ios::binary);
    if (!dns) {
      std::fprintf(stderr, "pipe_server: cannot read %s\n", g_opts.dns_config_file.c_str());
      return 66;
    }
    g_dns_config.assign(std::istreambuf_iterator<char>(dns), std::istreambuf_iterator<char>());
  }
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(g_opts.lifetime_s));
    std::_Exit(0);
  }).detach();

  HANDLE next = new_instance();
  if (next == INVALID_HANDLE_VALUE) {
    std::fprintf(stderr, "pipe_server: cannot create %s (Windows error %lu)\n", g_opts.pipe.c_str(), GetLastError());
    return 69;
  }
  if (!g_opts.ready_file.empty()) std::ofstream(g_opts.ready_file) << "ready\n";
  for (;;) {
    HANDLE pipe = next;
    bool ok = ConnectNamedPipe(pipe, nullptr) || GetLastError() == ERROR_PIPE_CONNECTED;
    next = new_instance();  // the next client finds a free instance while this one is served
    if (ok) {
      std::thread(serve, pipe).detach();
    } else {
      CloseHandle(pipe);
    }
    if (next == INVALID_HANDLE_VALUE) return 69;
  }
}
