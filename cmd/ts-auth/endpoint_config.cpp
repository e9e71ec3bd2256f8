// The tailscale endpoint of a sing-box config (spec singbox.md §1.2, §2.1), read with the shared
// sing-box loader of libcommon/route: JSON with comments and trailing commas, or YAML.
//
// Every endpoint key is either mapped to a Local API pref, or reported as not applicable in
// daemon-only mode with the reason from the spec's table; an unknown key is an error, as in Go.

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/route/source.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;

namespace {

struct Reader {
  std::string base;  // "endpoints[0]"
  core::Error err;
  bool failed = false;

  void error(const std::string& key, const std::string& msg) {
    if (failed) return;
    failed = true;
    err = core::Error{ExitCode::kConfig, base + "." + key + ": " + msg, {}};
  }
  std::optional<std::string> str(const Json& v, const std::string& key) {
    if (v.is_null()) return std::nullopt;
    if (!v.is_string()) {
      error(key, "expected a string");
      return std::nullopt;
    }
    return v.get<std::string>();
  }
  std::optional<bool> boolean(const Json& v, const std::string& key) {
    if (v.is_null()) return std::nullopt;
    if (!v.is_boolean()) {
      error(key, "expected true or false");
      return std::nullopt;
    }
    return v.get<bool>();
  }
  // Listable: one string or an array of strings; null is an empty list.
  std::optional<std::vector<std::string>> strings(const Json& v, const std::string& key) {
    std::vector<std::string> out;
    if (v.is_null()) return out;
    if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
    if (!v.is_array()) {
      error(key, "expected a string or a list of strings");
      return std::nullopt;
    }
    for (const auto& e : v) {
      if (!e.is_string()) {
        error(key, "expected a list of strings");
        return std::nullopt;
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }
};

const char* not_applicable(const std::string& key) {
  static const std::vector<std::pair<std::string, const char*>> table = {
      {"state_directory", "tailscaled keeps node keys and prefs where its own --statedir/--state says; a client cannot choose"},
      {"system_interface", "tailscaled's --tun flag decides between a kernel TUN and userspace networking"},
      {"system_interface_name", "the TUN name is tailscaled's --tun flag"},
      {"system_interface_mtu", "the TUN MTU is set by tailscaled, not by a client"},
      {"udp_timeout", "a relay setting: sb-relay applies it to UDP sessions, tailscaled has no such pref"},
  };
  for (const auto& [k, why] : table) {
    if (k == key) return why;
  }
  static const char* dial_keys[] = {"detour", "bind_interface", "inet4_bind_address", "inet6_bind_address",
                                    "bind_address_no_port", "routing_mark", "reuse_addr", "netns",
                                    "connect_timeout", "tcp_fast_open", "tcp_multi_path", "udp_fragment",
                                    "domain_resolver", "domain_strategy", "network_strategy", "network_type",
                                    "fallback_network_type", "fallback_delay", "protect_path"};
  for (const char* k : dial_keys) {
    if (key == k) return "a dial field for the endpoint's own control connection; tailscaled owns that connection";
  }
  return nullptr;
}

}  // namespace

core::Result<EndpointConfig> load_endpoint_config(const std::string& path, const std::string& tag) {
  // The config may hold the auth key: the text buffers are wiped once parsed.
  std::string text;
  {
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
  }
  // The shared sing-box loader: JSON with comments and trailing commas, or YAML.
  auto doc = route::parse_config_text(text, path);
  wipe_string(text);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->is_object()) return core::fail(ExitCode::kConfig, path + ": the config is not a JSON object");
  const Json* eps = doc->contains("endpoints") ? &(*doc)["endpoints"] : nullptr;
  if (!eps || eps->is_null()) eps = nullptr;
  else if (!eps->is_array()) return core::fail(ExitCode::kConfig, path + ": endpoints: expected a list");

  std::vector<std::pair<size_t, std::string>> candidates;  // index, tag
  if (eps) {
    for (size_t i = 0; i < eps->size(); ++i) {
      const Json& e = (*eps)[i];
      if (!e.is_object() || e.value("type", "") != "tailscale") continue;
      std::string t = e.contains("tag") && e["tag"].is_string() ? e["tag"].get<std::string>() : std::to_string(i);
      candidates.emplace_back(i, t);
    }
  }
  if (candidates.empty()) return core::fail(ExitCode::kConfig, path + ": no endpoint of type tailscale");
  const std::pair<size_t, std::string>* pick = nullptr;
  if (!tag.empty()) {
    for (const auto& c : candidates) {
      if (c.second == tag) pick = &c;
    }
    if (!pick) return core::fail(ExitCode::kConfig, path + ": no tailscale endpoint tagged \"" + tag + "\"");
  } else {
    if (candidates.size() > 1) {
      std::string tags;
      for (const auto& c : candidates) tags += (tags.empty() ? "" : ", ") + c.second;
      return core::fail(ExitCode::kConfig, path + ": several tailscale endpoints (" + tags + ")",
                        "choose one with --endpoint TAG");
    }
    pick = &candidates.front();
  }

  Json& ep = (*doc)["endpoints"][pick->first];
  EndpointConfig out;
  out.tag = pick->second;
  Reader r{"endpoints[" + std::to_string(pick->first) + "]", {}, false};
  Settings& s = out.settings;
  // sing-box always sends these (false/empty clears): the config describes the whole endpoint.
  s.accept_routes = false;
  s.advertise_routes = std::vector<std::string>{};
  s.advertise_exit_node = false;
  s.exit_node = "";
  s.exit_node_allow_lan_access = false;
  for (auto it = ep.begin(); it != ep.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "type" || key == "tag") continue;
    if (key == "auth_key") {
      if (auto k = r.str(v, key); k && !k->empty()) out.auth_key = SecretString(std::move(*k));
      if (it.value().is_string()) wipe_string(it.value().get_ref<std::string&>());
    } else if (key == "control_url") {
      if (auto x = r.str(v, key); x && !x->empty()) s.control_url = *x;
    } else if (key == "hostname") {
      if (auto x = r.str(v, key); x && !x->empty()) s.hostname = *x;
    } else if (key == "ephemeral") {
      s.ephemeral = r.boolean(v, key).value_or(false);
    } else if (key == "accept_routes") {
      s.accept_routes = r.boolean(v, key).value_or(false);
    } else if (key == "exit_node") {
      s.exit_node = r.str(v, key).value_or("");
    } else if (key == "exit_node_allow_lan_access") {
      s.exit_node_allow_lan_access = r.boolean(v, key).value_or(false);
    } else if (key == "advertise_routes") {
      if (auto x = r.strings(v, key)) s.advertise_routes = *x;
    } else if (key == "advertise_exit_node") {
      s.advertise_exit_node = r.boolean(v, key).value_or(false);
    } else if (key == "advertise_tags") {
      if (auto x = r.strings(v, key); x && !x->empty()) s.advertise_tags = *x;
    } else if (key == "ssh_server") {
      s.run_ssh = r.boolean(v, key).value_or(false);
    } else if (key == "relay_server_port") {
      if (!v.is_null()) {
        if (!v.is_number_integer()) r.error(key, "expected a port number");
        else s.relay_server_port = v.get<int64_t>();
      }
    } else if (key == "relay_server_static_endpoints") {
      if (auto x = r.strings(v, key)) s.relay_server_static_endpoints = *x;
    } else if (const char* why = not_applicable(key)) {
      out.ignored.push_back({key, why});
    } else {
      r.error(key, "json: unknown field \"" + key + "\"");
    }
  }
  if (r.failed) return tl::unexpected(r.err);
  auto norm = normalise_settings(std::move(out.settings), ExitCode::kConfig, true);
  if (!norm) {
    norm.error().message = path + ": endpoint " + out.tag + ": " + norm.error().message;
    return tl::unexpected(norm.error());
  }
  out.settings = std::move(*norm);
  return out;
}

}  // namespace tb::cmd
