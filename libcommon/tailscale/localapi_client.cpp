#include "libcommon/tailscale/localapi_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "libcommon/core/process.hpp"
#include "libcommon/core/strings.hpp"

namespace tb::ts {

using core::ExitCode;
using core::Json;

namespace {
constexpr const char* kPrefix = "/localapi/v0/";

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}
}  // namespace

std::string daemon_error_message(std::string_view body) {
  auto doc = core::parse_or_discarded(body);
  if (!doc.is_discarded() && doc.is_object()) {
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (core::iequals(it.key(), "error") && it.value().is_string() && !it.value().get<std::string>().empty())
        return std::string(core::trim(it.value().get<std::string>()));
    }
  }
  std::string text(core::trim(body));
  if (text.size() > 300) text = text.substr(0, 300) + "…";
  return text;
}

core::Error daemon_error(const HttpResponse& resp, std::string_view what) {
  std::string msg = daemon_error_message(resp.body);
  if (resp.status == 403) {
    return core::Error{ExitCode::kNoPerm,
                       "access denied by tailscaled" + (msg.empty() ? std::string() : ": " + msg),
                       "run as root, or let this user operate tailscale: sudo tailscale set --operator=$USER"};
  }
  std::string line = std::string(what) + ": tailscaled answered HTTP " + std::to_string(resp.status);
  if (!msg.empty()) line += ": " + msg;
  return core::Error{ExitCode::kProtocol, line, {}};
}

LocalApiClient::LocalApiClient(std::unique_ptr<Transport> transport, ClientOptions opts)
    : transport_(std::move(transport)), opts_(opts) {}

core::Result<HttpResponse> LocalApiClient::call(std::string_view method, const std::string& path,
                                                std::string_view body, std::string_view what) {
  auto deadline = std::chrono::steady_clock::now() + opts_.connect_retry;
  for (;;) {
    auto resp = transport_->request(method, kPrefix + path, body, opts_.timeout);
    if (resp) {
      if (resp->status / 100 != 2) return tl::unexpected(daemon_error(*resp, what));
      return resp;
    }
    // Retry only "nobody listening" for a moment: the daemon may be starting.
    if (resp.error().code != ExitCode::kUnavailable || std::chrono::steady_clock::now() >= deadline)
      return resp;
    if (!core::sleep_for(std::chrono::milliseconds(250)))
      return core::fail(ExitCode::kInterrupted, "interrupted");
  }
}

core::Result<std::string> LocalApiClient::status_raw(bool peers) {
  auto resp = call("GET", peers ? "status" : "status?peers=false", {}, "status");
  if (!resp) return tl::unexpected(resp.error());
  return std::move(resp->body);
}

core::Result<Status> LocalApiClient::status(bool peers) {
  auto body = status_raw(peers);
  if (!body) return tl::unexpected(body.error());
  return parse_status(*body);
}

core::Result<std::optional<DnsConfig>> LocalApiClient::dns_config() {
  auto resp = transport_->request("GET", kPrefix + std::string("dns-config"), {}, opts_.timeout);
  if (!resp) return tl::unexpected(resp.error());
  if (resp->status == 404 || resp->status == 503) return std::nullopt;
  if (resp->status / 100 != 2) return tl::unexpected(daemon_error(*resp, "dns-config"));
  auto c = parse_dns_config(resp->body);
  if (!c) return tl::unexpected(c.error());
  return std::optional<DnsConfig>(std::move(*c));
}

core::Result<Prefs> LocalApiClient::prefs() {
  auto resp = call("GET", "prefs", {}, "prefs");
  if (!resp) return tl::unexpected(resp.error());
  return parse_prefs(resp->body);
}

core::Result<Prefs> LocalApiClient::patch_prefs(const Json& masked) {
  auto resp = call("PATCH", "prefs", masked.dump(), "edit prefs");
  if (!resp) return tl::unexpected(resp.error());
  return parse_prefs(resp->body);
}

core::Result<void> LocalApiClient::check_prefs(const Json& prefs) {
  auto resp = call("POST", "check-prefs", prefs.dump(), "check prefs");
  if (!resp) return tl::unexpected(resp.error());
  std::string msg = daemon_error_message(resp->body);
  if (!msg.empty() && msg != "{}") return core::fail(ExitCode::kDataErr, "tailscaled rejected the prefs: " + msg);
  return {};
}

core::Result<void> LocalApiClient::start(std::string_view options_json) {
  auto resp = call("POST", "start", options_json, "start");
  if (!resp) return tl::unexpected(resp.error());
  return {};
}

core::Result<void> LocalApiClient::login_interactive() {
  auto resp = call("POST", "login-interactive", {}, "login");
  if (!resp) return tl::unexpected(resp.error());
  return {};
}

core::Result<void> LocalApiClient::logout() {
  auto resp = call("POST", "logout", {}, "logout");
  if (!resp) return tl::unexpected(resp.error());
  return {};
}

core::Result<Json> LocalApiClient::whois(const std::string& addr) {
  auto resp = call("GET", "whois?addr=" + url_escape(addr), {}, "whois");
  if (!resp) return tl::unexpected(resp.error());
  return core::parse_json(resp->body, ExitCode::kProtocol, "whois: tailscaled sent invalid JSON");
}

core::Result<void> LocalApiClient::watch_ipn_bus(uint64_t mask, const std::function<bool(const Notify&)>& on_notify,
                                                 std::chrono::milliseconds idle_timeout) {
  std::string path = std::string(kPrefix) + "watch-ipn-bus?mask=" + std::to_string(mask);
  core::Error line_error;
  bool failed = false;
  std::string error_body;
  auto status = transport_->stream(
      path,
      [&](std::string_view line) {
        if (line.empty()) return true;
        auto n = parse_notify(line);
        if (!n) {
          line_error = n.error();
          failed = true;
          return false;
        }
        return on_notify(*n);
      },
      opts_.timeout, idle_timeout, &error_body);
  if (failed) return tl::unexpected(line_error);
  if (!status) return tl::unexpected(status.error());
  if (*status / 100 != 2) {
    HttpResponse resp;
    resp.status = *status;
    resp.body = std::move(error_body);
    return tl::unexpected(daemon_error(resp, "watch-ipn-bus"));
  }
  return {};
}

core::Result<Json> LocalApiClient::dns_query(const std::string& name, const std::string& type) {
  auto resp = call("GET", "dns-query?name=" + url_escape(name) + "&type=" + url_escape(type), {}, "dns-query");
  if (!resp) return tl::unexpected(resp.error());
  return core::parse_json(resp->body, ExitCode::kProtocol, "dns-query: tailscaled sent invalid JSON");
}

void LocalApiClient::cancel() { transport_->cancel(); }

std::unique_ptr<LocalApiClient> connect_local_api(const std::string& socket_flag, ClientOptions opts) {
  DiscoveryOptions d;
  d.explicit_socket = socket_flag;
  if (const char* env = std::getenv("TS_SOCKET")) d.env_socket = env;
  return std::make_unique<LocalApiClient>(make_transport(discover_endpoint(d)), opts);
}

}  // namespace tb::ts
