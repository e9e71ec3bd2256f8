// `ts-auth up -c`: the tailscale endpoint of a sing-box config, read and checked by the loader
// and compiler sb-route uses (libcommon/route: JSON with comments and trailing commas, or YAML;
// every key as sing-box 1.13 takes it), then turned into Local API prefs. Keys that daemon-only
// mode cannot apply are named with the reason; an unknown key is an error, as in Go.

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/schema.hpp"
#include "libcommon/route/source.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;

namespace {

// The file's text. The config may hold the auth key: the read buffer is wiped.
core::Result<std::string> read_config(const std::string& path) {
  std::string text;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::fail(ExitCode::kConfig, "cannot read config " + path + ": " + std::strerror(errno));
  struct stat sb {};
  if (::fstat(fd, &sb) == 0 && sb.st_size > 0) text.reserve(static_cast<size_t>(sb.st_size) + 1);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  explicit_bzero(buf, sizeof buf);
  ::close(fd);
  return text;
}

// Why tailscaled cannot apply an endpoint key in daemon-only mode; nullptr when it can.
const char* not_applicable(std::string_view key) {
  static const std::pair<std::string_view, const char*> table[] = {
      {"state_directory", "tailscaled keeps node keys and prefs where its own --statedir/--state says; a client cannot choose"},
      {"system_interface", "tailscaled's --tun flag decides between a kernel TUN and userspace networking"},
      {"system_interface_name", "the TUN name is tailscaled's --tun flag"},
      {"system_interface_mtu", "the TUN MTU is set by tailscaled, not by a client"},
      {"udp_timeout", "sing-box 1.13.19 keeps it but never uses it, and tailscaled has no such pref"},
  };
  for (const auto& [k, why] : table)
    if (k == key) return why;
  if (route::schema::is_dial_key(key))
    return "a dial field for the endpoint's own control connection; tailscaled owns that connection";
  return nullptr;
}

// The tailscale endpoint tagged `tag`, or the only one.
core::Result<const route::EndpointInfo*> pick_endpoint(const route::RouteConfig& c, const std::string& path,
                                                       const std::string& tag) {
  if (c.endpoints.empty()) return core::fail(ExitCode::kConfig, path + ": no endpoint of type tailscale");
  if (!tag.empty()) {
    if (const auto* e = c.find_endpoint(tag)) return e;
    return core::fail(ExitCode::kConfig, path + ": no tailscale endpoint tagged \"" + tag + "\"");
  }
  if (c.endpoints.size() > 1) {
    std::string tags;
    for (const auto& e : c.endpoints) tags += (tags.empty() ? "" : ", ") + e.tag;
    return core::fail(ExitCode::kConfig, path + ": several tailscale endpoints (" + tags + ")",
                      "choose one with --endpoint TAG");
  }
  return &c.endpoints.front();
}

// The config's errors inside the endpoint, joined (the rest of the config is sb-route's concern).
std::string endpoint_errors(const route::RouteConfig& c, const std::string& at) {
  std::string out;
  for (const auto& d : c.diagnostics) {
    bool inside = d.path == at || d.path.rfind(at + ".", 0) == 0 || d.path.rfind(at + "[", 0) == 0;
    if (d.severity == route::Severity::kError && inside) out += (out.empty() ? "" : "; ") + d.line();
  }
  return out;
}

Settings settings_from(const route::EndpointInfo& e) {
  auto given = [](const auto& v) -> std::optional<std::decay_t<decltype(v)>> {
    if (v.empty()) return std::nullopt;
    return v;
  };
  // sing-box always sends accept_routes, the exit node and the routes to advertise (false or
  // empty clears them): the config describes the whole endpoint.
  return Settings{.hostname = given(e.hostname),
                  .control_url = given(e.control_url),
                  .accept_routes = e.accept_routes,
                  .exit_node = e.exit_node,
                  .exit_node_allow_lan_access = e.exit_node_allow_lan_access,
                  .advertise_routes = e.advertise_routes,
                  .advertise_exit_node = e.advertise_exit_node,
                  .advertise_tags = given(e.advertise_tags),
                  .relay_server_port = e.relay_server_port,
                  .relay_server_static_endpoints = e.relay_server_static_endpoints,
                  .ephemeral = e.ephemeral};
}

// The auth keys the compiled config holds: the endpoints' copies and the source's strings.
void wipe_keys(route::RouteConfig& c) {
  for (auto& e : c.endpoints) wipe_string(e.auth_key);
  if (auto eps = c.source.find("endpoints"); eps != c.source.end() && eps->is_array())
    for (auto& e : *eps)
      if (auto k = e.find("auth_key"); e.is_object() && k != e.end() && k->is_string())
        wipe_string(k->get_ref<std::string&>());
}

}  // namespace

core::Result<EndpointConfig> load_endpoint_config(const std::string& path, const std::string& tag) {
  auto text = read_config(path);
  if (!text) return tl::unexpected(text.error());
  auto doc = route::parse_config_text(*text, path);
  wipe_string(*text);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->is_object()) return core::fail(ExitCode::kConfig, path + ": the config is not a JSON object");
  auto config = route::compile_config(std::move(*doc));
  struct Wipe {
    route::RouteConfig& c;
    ~Wipe() { wipe_keys(c); }
  } wipe{*config};
  auto picked = pick_endpoint(*config, path, tag);
  if (!picked) return tl::unexpected(picked.error());
  const route::EndpointInfo& e = **picked;
  if (auto errors = endpoint_errors(*config, e.path); !errors.empty())
    return core::fail(ExitCode::kConfig, path + ": " + errors);

  EndpointConfig out;
  out.tag = e.tag;
  if (!e.auth_key.empty()) out.auth_key = SecretString(std::string(e.auth_key));
  const Json& raw = config->source["endpoints"][std::stoul(e.path.substr(e.path.find('[') + 1))];  // "endpoints[N]"
  for (auto k = raw.begin(); k != raw.end(); ++k)
    if (const char* why = not_applicable(k.key())) out.ignored.push_back({k.key(), why});
  auto norm = normalise_settings(settings_from(e), ExitCode::kConfig, true);
  if (!norm) {
    norm.error().message = path + ": endpoint " + out.tag + ": " + norm.error().message;
    return tl::unexpected(norm.error());
  }
  out.settings = std::move(*norm);
  return out;
}

}  // namespace tb::cmd
