// DNS transports (dns_transport.hpp): udp, tcp, https, local and hosts, as sing-box v1.13.19's
// dns/transport/{udp,tcp,https,local,hosts}.

#include "libcommon/net/dns_transport.hpp"

#include <dlfcn.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include "libcommon/net/dialer.hpp"
#include "libcommon/net/dns.hpp"
#include "libcommon/net/doh_module.hpp"
#include "libcommon/net/protect.hpp"
#include "libcommon/net/route_monitor.hpp"

namespace tb::net {

namespace {

// The reply to our question in a response, or why it is not one.
DnsReply reply_from(Bytes msg, uint16_t id, const std::string& name, uint16_t qtype, bool* truncated = nullptr) {
  DnsReply r;
  auto ans = dns::parse_response(msg);
  if (!ans.ok() || ans.value.id != id || ans.value.qtype != qtype || normalize_name(ans.value.qname) != name) {
    r.error = ans.ok() ? "reply to another question" : "bad reply: " + ans.error;
    return r;
  }
  if (truncated) *truncated = ans.value.truncated;
  r.rcode = ans.value.rcode;
  r.ttl = ans.value.ttl;
  std::error_code ec;
  for (const auto& a : ans.value.addresses) {
    auto addr = asio::ip::make_address(a, ec);
    if (!ec && addr.is_v4() == (qtype == dns::kTypeA)) r.addresses.push_back(addr);
  }
  return r;
}

// Cancels `sock` when the deadline passes first; `expired` says so.
template <typename Socket>
struct Deadline {
  Deadline(asio::any_io_executor ex, Socket& sock, std::chrono::milliseconds after)
      : timer(ex, after), alive(std::make_shared<bool>(true)) {
    timer.async_wait([a = alive, &sock, e = expired](std::error_code ec) {
      if (ec || !*a) return;
      *e = true;
      std::error_code ignored;
      sock.cancel(ignored);
    });
  }
  ~Deadline() {
    *alive = false;
    timer.cancel();
  }
  asio::steady_timer timer;
  std::shared_ptr<bool> alive;
  std::shared_ptr<bool> expired = std::make_shared<bool>(false);
};

std::string who(const asio::ip::address& a, uint16_t port) {
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(port);
}

}  // namespace

awaitable<DnsReply> exchange_udp(udp::endpoint server, const std::string& name, uint16_t qtype, const DialOptions& dial) {
  DnsReply out;
  auto opened = co_await open_udp(server, dial);
  if (!opened.ok()) co_return DnsReply{{}, 0, 0, "udp " + who(server.address(), server.port()) + ": " + opened.error};
  udp::socket& sock = *opened.socket;
  uint16_t id = dns::random_id();
  auto q = dns::query(id, name, qtype);
  auto [se, sn] = co_await sock.async_send_to(asio::buffer(q), server, use_tuple);
  if (se) co_return DnsReply{{}, 0, 0, "udp " + who(server.address(), server.port()) + ": " + se.message()};
  Deadline<udp::socket> deadline(co_await asio::this_coro::executor, sock, kDnsTimeout);
  std::array<uint8_t, 65535> buf;
  for (;;) {
    udp::endpoint from;
    auto [re, rn] = co_await sock.async_receive_from(asio::buffer(buf), from, use_tuple);
    if (re) {
      out.error = "udp " + who(server.address(), server.port()) + ": " + (*deadline.expired ? "timed out" : re.message());
      co_return out;
    }
    if (from != server) continue;
    bool truncated = false;
    out = reply_from(Bytes(buf.data(), rn), id, name, qtype, &truncated);
    if (!out.error.empty()) continue;  // not ours: keep waiting (RFC 5452 §9.1)
    if (truncated) co_return co_await exchange_tcp(tcp::endpoint(server.address(), server.port()), name, qtype, dial);
    co_return out;
  }
}

awaitable<DnsReply> exchange_on(tcp::socket& sock, const std::string& name, uint16_t qtype, const std::string& label) {
  Deadline<tcp::socket> deadline(co_await asio::this_coro::executor, sock, kDnsTimeout);
  uint16_t id = dns::random_id();
  auto q = dns::query(id, name, qtype);
  Buffer framed(q.size() + 2);
  framed[0] = static_cast<uint8_t>(q.size() >> 8);
  framed[1] = static_cast<uint8_t>(q.size());
  std::copy(q.begin(), q.end(), framed.begin() + 2);
  auto [we, wn] = co_await asio::async_write(sock, asio::buffer(framed), use_tuple);
  std::array<uint8_t, 2> len{};
  std::error_code ec = we;
  if (!ec) std::tie(ec, std::ignore) = co_await asio::async_read(sock, asio::buffer(len), use_tuple);
  Buffer msg(static_cast<size_t>(len[0] << 8 | len[1]));
  if (!ec) std::tie(ec, std::ignore) = co_await asio::async_read(sock, asio::buffer(msg), use_tuple);
  if (ec) co_return DnsReply{{}, 0, 0, label + (*deadline.expired ? "timed out" : ec.message())};
  auto out = reply_from(Bytes(msg.data(), msg.size()), id, name, qtype);
  if (!out.error.empty()) out.error = label + out.error;
  co_return out;
}

awaitable<DnsReply> exchange_tcp(tcp::endpoint server, const std::string& name, uint16_t qtype, const DialOptions& dial) {
  const std::string label = "tcp " + who(server.address(), server.port()) + ": ";
  DialOptions opts = dial;
  if (opts.connect_timeout > kDnsTimeout) opts.connect_timeout = kDnsTimeout;
  std::vector<asio::ip::address> addrs(1, server.address());  // (a braced list here trips g++ 12's coroutines)
  auto conn = co_await dial_addresses(std::move(addrs), server.port(), opts);
  if (!conn.ok()) co_return DnsReply{{}, 0, 0, label + conn.error};
  co_return co_await exchange_on(*conn.socket, name, qtype, label);
}

namespace {

// sb-relay-doh.so (doh_module.hpp), loaded once, on the first DoH query: beside the executable (the
// build tree), then ../lib/tailbox (the installed layout, /usr/bin → /usr/lib/tailbox). A failure
// is kept, not retried per query; its reason is the dlerror of the last candidate file that
// exists (a broken module says why), else of the last attempt.
struct DohModule {
  doh::PostFn post = nullptr;
  std::string error;
};

DohModule load_doh_module() {
  std::array<char, PATH_MAX> exe{};
  ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (n <= 0) return {nullptr, std::string("readlink /proc/self/exe: ") + std::strerror(errno)};
  std::string dir(exe.data(), static_cast<size_t>(n));
  dir.erase(dir.rfind('/'));
  std::string error;
  bool existing_failed = false;
  for (const auto& path : {dir + "/" + doh::kModuleFile, dir + "/../lib/tailbox/" + doh::kModuleFile}) {
    const bool exists = ::access(path.c_str(), F_OK) == 0;
    if (existing_failed && !exists) continue;
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h != nullptr) {
      ::dlerror();
      if (void* sym = ::dlsym(h, doh::kEntrySymbol)) return {reinterpret_cast<doh::PostFn>(sym), {}};
      const char* e = ::dlerror();
      error = e != nullptr ? e : path + ": no " + doh::kEntrySymbol;
      ::dlclose(h);
    } else {
      const char* e = ::dlerror();
      error = e != nullptr ? e : path + ": dlopen failed";
    }
    existing_failed = existing_failed || exists;
  }
  return {nullptr, error};
}

const DohModule& doh_module() {
  static const DohModule module = load_doh_module();  // once, thread-safe (a magic static)
  return module;
}

struct Protect {
  const asio::ip::address& ip;
  const DialOptions& dial;
  std::string error;
};

// The module calls this with its socket before connect. When protection fails the descriptor is
// swapped for one no connect() to an IP address can use, so the request fails and nothing goes out
// unprotected.
void protect_doh_socket(void* ctx, int fd) {
  auto& p = *static_cast<Protect*>(ctx);
  p.error = protect_socket_blocking(fd, SocketKind::kTcp, p.ip, p.dial);
  if (p.error.empty()) return;
  // An unconnected Unix socket, kept once opened: dup2 onto fd needs no free descriptor (EMFILE
  // may be why protection failed), so the half-protected socket can never connect.
  static std::atomic<int> dead{-1};
  if (dead.load() < 0) {
    int d = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int expected = -1;
    if (d >= 0 && !dead.compare_exchange_strong(expected, d)) ::close(d);
  }
  if (dead.load() < 0 || ::dup2(dead.load(), fd) < 0) ::shutdown(fd, SHUT_RDWR);
}

// The module's pool key (doh_module.hpp): what binds a DoH socket besides the server's own fields.
// A connection kept for one key is never used for another, so after a plan that changes the dial
// fields, or a move of the default route, the next query opens a new connection.
// - The dial fields: the index of the first equal DialOptions this process has seen. operator== is
//   defaulted, so it compares every field, one added later too. A few entries per config.
// - The interface route.auto_detect_interface picks for `ip` now (sing-box resets its DNS
//   transports when the default interface changes), and the index of an interface named by
//   bind_interface or route.default_interface (a link deleted and made again gets a new one).
//   Inside a named netns neither is looked up here: protection binds by name there.
std::string doh_pool_key(const tb::route::DialOptions& d, const asio::ip::address& ip) {
  struct Seen {
    std::mutex mu;
    std::vector<tb::route::DialOptions> dials;
  };
  static auto* seen = new Seen;  // never destroyed: detached worker threads may still be here at exit
  std::string k;
  {
    std::lock_guard lock(seen->mu);
    auto it = std::find(seen->dials.begin(), seen->dials.end(), d);
    k = std::to_string(it - seen->dials.begin());
    if (it == seen->dials.end()) seen->dials.push_back(d);
  }
  if (!d.netns.empty()) return k;
  for (const auto* name : {&d.bind_interface, &d.default_interface})
    if (!name->empty()) k += "/" + std::to_string(if_nametoindex(name->c_str()));
  if (d.auto_detect_interface && d.default_interface.empty()) {
    auto iface = auto_detect_interface_for(ip);
    k += iface ? "/" + iface->name + ":" + std::to_string(iface->index) : "/none";
  }
  return k;
}

// The blocking DoH request, on a worker thread, through the module.
DnsReply https_blocking(const tb::route::DnsServerSpec& s, const asio::ip::address& ip, const std::string& name,
                        uint16_t qtype) {
  const std::string label = "https " + s.server + ": ";
  const DohModule& module = doh_module();
  if (module.post == nullptr)
    return DnsReply{{}, 0, 0,
                    label + "DNS over HTTPS needs " + doh::kModuleFile + ", which could not be loaded: " + module.error};
  doh::Request req;
  req.host = s.tls_server_name.empty() ? s.server : s.tls_server_name;
  req.port = s.port;
  req.connect_ip = ip.to_string();
  req.path = s.http_path;
  for (const auto& [k, v] : s.headers) req.headers.emplace_back(k, v);
  req.timeout_ms = std::chrono::duration_cast<std::chrono::seconds>(kDnsTimeout).count() * 1000;
  req.verify = !s.tls_insecure;
  req.ca_path = s.tls_ca_path;
  req.ca_pem = s.tls_ca_pem;
  auto q = dns::query(0, name, qtype);  // RFC 8484 §4.1: ID 0
  req.body.assign(q.begin(), q.end());
  Protect protect{ip, s.dial, {}};
  req.pool_key = doh_pool_key(s.dial, ip);
  req.socket_options = protect_doh_socket;
  req.socket_options_ctx = &protect;
  doh::Response res;
  // Always POST, as sing-box 1.13.19's https transport (it reads `method` and does not use it).
  module.post(&req, &res);
  if (!protect.error.empty()) return DnsReply{{}, 0, 0, label + protect.error};
  if (!res.error.empty()) return DnsReply{{}, 0, 0, label + res.error};
  if (res.status != 200) return DnsReply{{}, 0, 0, label + "HTTP status " + std::to_string(res.status)};
  const auto& b = res.body;
  auto out = reply_from(Bytes(reinterpret_cast<const uint8_t*>(b.data()), b.size()), 0, name, qtype);
  if (!out.error.empty()) out.error = label + out.error;
  return out;
}

}  // namespace

awaitable<DnsReply> exchange_https(const tb::route::DnsServerSpec& s, asio::ip::address ip, const std::string& name,
                                   uint16_t qtype) {
  auto ex = co_await asio::this_coro::executor;
  struct Shared {
    explicit Shared(asio::any_io_executor e) : done(e) {}
    asio::steady_timer done;
    bool ready = false;
    DnsReply reply;
  };
  // Each query is a worker thread until the module returns, which a stalling server can delay
  // well past the session's wait: past kMaxDohInFlight of them a query fails at once instead of
  // piling up threads.
  static std::atomic<int> in_flight{0};
  if (in_flight.fetch_add(1) >= kMaxDohInFlight) {
    in_flight.fetch_sub(1);
    co_return DnsReply{{}, 0, 0, "https " + s.server + ": " + std::to_string(kMaxDohInFlight) +
                                     " DNS over HTTPS queries are already in flight"};
  }
  auto shared = std::make_shared<Shared>(ex);
  // The module bounds each step and the body by kDnsTimeout; the session waits no longer than
  // that and a second, whatever the worker thread is still stuck in (a TLS handshake or headers
  // that never end). A late answer is dropped.
  shared->done.expires_after(kDnsTimeout + std::chrono::seconds(1));
  std::string no_thread;
  try {
    std::thread([shared, s, ip, name, qtype, ex] {
      DnsReply r = https_blocking(s, ip, name, qtype);
      in_flight.fetch_sub(1);
      asio::post(ex, [shared, r = std::move(r)]() mutable {
        shared->reply = std::move(r);
        shared->ready = true;
        shared->done.cancel();
      });
    }).detach();
  } catch (const std::system_error& e) {
    in_flight.fetch_sub(1);
    no_thread = e.what();
  }
  if (!no_thread.empty()) co_return DnsReply{{}, 0, 0, "https " + s.server + ": no thread for the query: " + no_thread};
  co_await shared->done.async_wait(use_tuple);
  if (!shared->ready) co_return DnsReply{{}, 0, 0, "https " + s.server + ": timed out"};
  co_return shared->reply;
}

awaitable<DnsReply> exchange_local(const std::string& name, uint16_t qtype) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [re, results] = co_await resolver.async_resolve(qtype == dns::kTypeA ? tcp::v4() : tcp::v6(), name, "",
                                                       use_tuple);
  DnsReply out;
  if (re == asio::error::host_not_found || re == asio::error::no_data) {
    out.rcode = re == asio::error::host_not_found ? 3 : 0;
    co_return out;
  }
  if (re) co_return DnsReply{{}, 0, 0, "local: " + re.message()};
  for (const auto& e : results) {
    auto a = e.endpoint().address();
    if (std::find(out.addresses.begin(), out.addresses.end(), a) == out.addresses.end()) out.addresses.push_back(a);
  }
  co_return out;
}

namespace {

struct HostsFile {
  struct timespec mtime {};
  off_t size = -1;
  std::map<std::string, std::vector<asio::ip::address>> names;
};

// /etc/hosts format: an address, then names; '#' starts a comment.
void read_hosts(const std::string& path, HostsFile& f) {
  f.names.clear();
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string addr, name;
    if (!(words >> addr)) continue;
    std::error_code ec;
    auto a = asio::ip::make_address(addr.substr(0, addr.find('%')), ec);
    if (ec) continue;
    while (words >> name) f.names[normalize_name(name)].push_back(a);
  }
}

}  // namespace

DnsReply lookup_hosts(const tb::route::DnsServerSpec& s, const std::string& name, uint16_t qtype) {
  DnsReply out;
  auto keep = [&](const asio::ip::address& a) {
    if (a.is_v4() == (qtype == dns::kTypeA)) out.addresses.push_back(a);
  };
  // dns/transport/hosts: FixedResponse with C.DefaultDNSTTL on each address record; an answer
  // without one of the asked family, or NXDOMAIN, has no record and so no TTL: never cached.
  auto done = [&] {
    out.ttl = out.addresses.empty() ? 0 : 600;
    return out;
  };
  if (auto it = s.predefined.find(name); it != s.predefined.end()) {
    for (const auto& ip : it->second) keep(asio::ip::make_address(ip.str()));
    return done();
  }
  static std::mutex mu;
  static std::map<std::string, HostsFile> files;
  std::lock_guard lock(mu);
  bool found = false;
  for (const auto& path : s.hosts_paths) {
    struct stat st {};
    HostsFile& f = files[path];
    if (::stat(path.c_str(), &st) != 0) {
      f = HostsFile{};
      continue;
    }
    if (st.st_size != f.size || st.st_mtim.tv_sec != f.mtime.tv_sec || st.st_mtim.tv_nsec != f.mtime.tv_nsec) {
      read_hosts(path, f);
      f.size = st.st_size;
      f.mtime = st.st_mtim;
    }
    if (auto it = f.names.find(name); it != f.names.end() && !it->second.empty()) {
      found = true;  // the first file that has the name answers
      for (const auto& a : it->second) keep(a);
      break;
    }
  }
  if (!found) out.rcode = 3;  // sing-box's hosts transport: no entry is NXDOMAIN
  return done();
}

}  // namespace tb::net
