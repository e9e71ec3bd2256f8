// Pure functions from what the user asked for to Local API bodies: validation, the exit node,
// comparison with the daemon's prefs (idempotency) and the MaskedPrefs / Prefs documents.

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/probe.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;

namespace {
constexpr const char* kDefaultControl = "https://controlplane.tailscale.com";

bool valid_label(const std::string& h) {
  if (h.empty() || h.size() > 63 || h.front() == '-' || h.back() == '-') return false;
  return std::all_of(h.begin(), h.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

// "10.0.0.7/24" → "10.0.0.0/24"; nullopt when not a prefix.
std::optional<std::string> canonical_prefix(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string addr = text.substr(0, slash), bits_s = text.substr(slash + 1);
  if (bits_s.empty() || bits_s.size() > 3 || !std::all_of(bits_s.begin(), bits_s.end(), ::isdigit)) return std::nullopt;
  int bits = std::stoi(bits_s);
  unsigned char buf[16] = {};
  int family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(family, addr.c_str(), buf) != 1) return std::nullopt;
  int max = family == AF_INET ? 32 : 128;
  if (bits > max) return std::nullopt;
  for (int i = 0; i < max / 8; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    buf[i] &= static_cast<unsigned char>(0xff << (8 - keep));
  }
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, buf, out, sizeof out);
  return std::string(out) + "/" + std::to_string(bits);
}

bool is_default_route(const std::string& p) { return p == "0.0.0.0/0" || p == "::/0"; }

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string normalise_control_url(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (u.empty() || u == "https://login.tailscale.com") return kDefaultControl;
  return u;
}

core::Result<Settings> normalise_settings(Settings s, ExitCode code, bool from_config) {
  auto name = [&](const char* flag, const char* key) { return std::string(from_config ? key : flag); };
  if (s.hostname) {
    if (!valid_label(*s.hostname))
      return core::fail(code, name("--hostname", "hostname") + " \"" + *s.hostname +
                                  "\" is not a valid DNS label (letters, digits and '-', at most 63)");
  }
  if (s.control_url) {
    const std::string& u = *s.control_url;
    if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0)
      return core::fail(code, name("--control-url", "control_url") + " \"" + u + "\" must be an http:// or https:// URL");
  }
  if (s.advertise_tags) {
    for (auto& t : *s.advertise_tags) {
      if (t.rfind("tag:", 0) != 0) t = "tag:" + t;
      std::string n = t.substr(4);
      if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0])) ||
          !std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; }))
        return core::fail(code, name("--advertise-tags", "advertise_tags") + ": \"" + t +
                                    "\" is not a valid tag (tag:NAME, NAME starts with a letter)");
    }
    *s.advertise_tags = sorted(*s.advertise_tags);
  }
  if (s.advertise_routes) {
    for (auto& r : *s.advertise_routes) {
      auto c = canonical_prefix(r);
      if (!c) return core::fail(code, name("--advertise-routes", "advertise_routes") + ": \"" + r + "\" is not an IP prefix");
      if (is_default_route(*c))
        return core::fail(code, name("--advertise-routes", "`advertise_routes`") +
                                    " cannot be default, use " + name("--advertise-exit-node", "`advertise_exit_node`") +
                                    " instead.");
      r = *c;
    }
    *s.advertise_routes = sorted(*s.advertise_routes);
  }
  if (s.exit_node && !s.exit_node->empty() && s.advertise_exit_node.value_or(false))
    return core::fail(code, "cannot advertise an exit node and use an exit node at the same time.");
  if (s.relay_server_port && (*s.relay_server_port < 0 || *s.relay_server_port > 65535))
    return core::fail(code, name("--relay-server-port", "relay_server_port") + " must be 0…65535");
  return s;
}

Settings merge_settings(const Settings& config, const Settings& flags) {
  Settings m = config;
  auto take = [](auto& dst, const auto& src) {
    if (src) dst = src;
  };
  take(m.hostname, flags.hostname);
  take(m.control_url, flags.control_url);
  take(m.accept_routes, flags.accept_routes);
  take(m.exit_node, flags.exit_node);
  take(m.exit_node_allow_lan_access, flags.exit_node_allow_lan_access);
  take(m.advertise_routes, flags.advertise_routes);
  take(m.advertise_exit_node, flags.advertise_exit_node);
  take(m.advertise_tags, flags.advertise_tags);
  take(m.relay_server_port, flags.relay_server_port);
  take(m.relay_server_static_endpoints, flags.relay_server_static_endpoints);
  m.ephemeral = config.ephemeral || flags.ephemeral;
  return m;
}

std::vector<IgnoredOption> ephemeral_notes(const Settings& s, bool have_key) {
  std::vector<IgnoredOption> out;
  if (!s.ephemeral) return out;
  out.push_back({"ephemeral",
                 have_key ? "tailscaled registers the node as the auth key says; ephemeral is a property of the key "
                            "(create it with Ephemeral), or run tailscaled with --state=mem:"
                          : "an interactive login registers a normal node; use an ephemeral auth key, or run "
                            "tailscaled with --state=mem:"});
  return out;
}

core::Result<std::optional<ExitNodeChoice>> resolve_exit_node(const std::string& arg, const ts::Status& st) {
  if (arg.empty()) return std::optional<ExitNodeChoice>(ExitNodeChoice{});
  // "auto:any" (ipn.ParseAutoExitNodeString): the daemon's own choice, kept up to date by it.
  if (arg.rfind("auto:", 0) == 0 && arg.size() > 5) {
    if (!ts::has_auto_exit_node(st.version))
      return core::fail(ExitCode::kDataErr, "tailscaled " + (st.version.empty() ? std::string("(version unknown)") : st.version) +
                                                " cannot choose the exit node itself (" + arg + "): automatic exit nodes "
                                                "(Prefs.AutoExitNode) need tailscaled " + ts::kAutoExitNodeSince + " or later");
    return std::optional<ExitNodeChoice>(ExitNodeChoice{"", "", arg.substr(5)});
  }
  bool running = st.backend_state == ts::BackendState::kRunning || st.backend_state == ts::BackendState::kStarting;
  if (is_ip_literal(arg)) {
    std::vector<std::string> self_ips = st.tailscale_ips;
    if (st.self) self_ips.insert(self_ips.end(), st.self->tailscale_ips.begin(), st.self->tailscale_ips.end());
    if (std::find(self_ips.begin(), self_ips.end(), arg) != self_ips.end())
      return core::fail(ExitCode::kDataErr, "cannot use " + arg + " as an exit node as it is a local IP address");
    for (const auto& p : st.peers) {
      if (std::find(p.tailscale_ips.begin(), p.tailscale_ips.end(), arg) == p.tailscale_ips.end()) continue;
      if (!p.exit_node_option)
        return core::fail(ExitCode::kDataErr, "node " + arg + " is not advertising an exit node");
      return std::optional<ExitNodeChoice>(ExitNodeChoice{arg, p.id, ""});
    }
    if (running && !st.peers.empty())
      return core::fail(ExitCode::kDataErr, "no node found in netmap with IP " + arg);
    return std::optional<ExitNodeChoice>(ExitNodeChoice{arg, "", ""});
  }
  if (st.peers.empty()) return std::optional<ExitNodeChoice>();  // resolve once Running
  std::string want = core::lower(tb::core::without_trailing_dot(arg));
  const ts::PeerStatus* found = nullptr;
  for (const auto& p : st.peers) {
    std::string fqdn = core::lower(tb::core::without_trailing_dot(p.dns_name));
    std::string base = fqdn.substr(0, fqdn.find('.'));
    if (want == fqdn || want == base) {
      if (found) return core::fail(ExitCode::kDataErr, "ambiguous exit node name \"" + arg + "\"");
      found = &p;
    }
  }
  if (!found)
    return core::fail(ExitCode::kDataErr, "invalid value \"" + arg + "\" for --exit-node; must be IP or unique node name");
  if (!found->exit_node_option)
    return core::fail(ExitCode::kDataErr, "node " + arg + " is not advertising an exit node");
  return std::optional<ExitNodeChoice>(ExitNodeChoice{"", found->id, ""});
}

Plan make_plan(const Settings& s, const ts::Prefs& current, const std::optional<ExitNodeChoice>& exit) {
  Plan plan;
  plan.settings = s;
  plan.exit = exit;
  if (s.advertise_routes || s.advertise_exit_node) {
    std::vector<std::string> routes;
    bool had_exit = false;
    for (const auto& r : current.advertise_routes) {
      if (is_default_route(r)) had_exit = true;
      else if (!s.advertise_routes) routes.push_back(r);
    }
    if (s.advertise_routes) routes.insert(routes.end(), s.advertise_routes->begin(), s.advertise_routes->end());
    routes = sorted(routes);
    if (s.advertise_exit_node.value_or(had_exit)) {
      routes.push_back("0.0.0.0/0");
      routes.push_back("::/0");
    }
    plan.routes = routes;
  }
  return plan;
}

std::vector<std::string> prefs_differences(const Plan& plan, const ts::Prefs& p) {
  const Settings& s = plan.settings;
  std::vector<std::string> d;
  if (!p.want_running || p.logged_out) d.push_back("want_running");
  if (s.hostname && *s.hostname != p.hostname) d.push_back("hostname");
  if (s.control_url && normalise_control_url(*s.control_url) != normalise_control_url(p.control_url))
    d.push_back("control_url");
  if (s.accept_routes && *s.accept_routes != p.route_all) d.push_back("accept_routes");
  if (s.exit_node) {
    bool same;
    if (!plan.exit) same = false;  // a name not resolved yet: applied after Running
    else if (!plan.exit->auto_expr.empty()) same = p.auto_exit_node == plan.exit->auto_expr;
    else if (!p.auto_exit_node.empty()) same = false;  // leaving the automatic choice
    else if (plan.exit->ip.empty() && plan.exit->id.empty()) same = p.exit_node_ip.empty() && p.exit_node_id.empty();
    else same = (!plan.exit->id.empty() && plan.exit->id == p.exit_node_id) ||
                (!plan.exit->ip.empty() && plan.exit->ip == p.exit_node_ip);
    if (!same) d.push_back("exit_node");
  }
  if (s.exit_node_allow_lan_access && *s.exit_node_allow_lan_access != p.exit_node_allow_lan_access)
    d.push_back("exit_node_allow_lan_access");
  if (plan.routes) {
    std::vector<std::string> cur;
    for (const auto& r : p.advertise_routes) cur.push_back(canonical_prefix(r).value_or(r));
    if (sorted(*plan.routes) != sorted(cur)) d.push_back("advertise_routes");
  }
  if (s.advertise_tags && *s.advertise_tags != sorted(p.advertise_tags)) d.push_back("advertise_tags");
  if (s.relay_server_port && *s.relay_server_port != core::get_int(p.raw, "RelayServerPort", -1))
    d.push_back("relay_server_port");
  if (s.relay_server_static_endpoints &&
      sorted(*s.relay_server_static_endpoints) != sorted(core::get_strings(p.raw, "RelayServerStaticEndpoints")))
    d.push_back("relay_server_static_endpoints");
  return d;
}

bool needs_reauth(const std::vector<std::string>& differences) {
  for (const auto& d : differences) {
    if (d == "control_url" || d == "advertise_tags") return true;
  }
  return false;
}

namespace {
// Writes the plan's fields into a prefs-shaped object; with_set adds MaskedPrefs' …Set flags.
void apply(Json& j, const Plan& plan, bool with_set) {
  const Settings& s = plan.settings;
  auto put = [&](const char* key, Json value) {
    j[key] = std::move(value);
    if (with_set) j[std::string(key) + "Set"] = true;
  };
  put("WantRunning", true);
  if (!with_set) j["LoggedOut"] = false;
  if (s.hostname) put("Hostname", *s.hostname);
  if (s.control_url) put("ControlURL", *s.control_url);
  if (s.accept_routes) put("RouteAll", *s.accept_routes);
  if (s.exit_node && plan.exit) {
    // An ID is what the daemon keeps once it knows the peer; an IP is resolved by the daemon.
    // auto:EXPR as `tailscale set --exit-node=auto:any` sends it (cmd/tailscale/cli/set.go): the
    // expression, and ExitNodeID/ExitNodeIP marked set and empty (the daemon fills in the ID).
    if (!plan.exit->auto_expr.empty()) {
      put("AutoExitNode", plan.exit->auto_expr);
      put("ExitNodeID", "");
      put("ExitNodeIP", "");
    } else if (!plan.exit->id.empty()) {
      put("ExitNodeID", plan.exit->id);
      put("ExitNodeIP", "");
    } else {
      put("ExitNodeIP", plan.exit->ip);
      put("ExitNodeID", "");
    }
  }
  if (s.exit_node_allow_lan_access) put("ExitNodeAllowLANAccess", *s.exit_node_allow_lan_access);
  if (plan.routes) put("AdvertiseRoutes", *plan.routes);
  if (s.advertise_tags) put("AdvertiseTags", *s.advertise_tags);
  if (s.relay_server_port) put("RelayServerPort", *s.relay_server_port);
  if (s.relay_server_static_endpoints) put("RelayServerStaticEndpoints", *s.relay_server_static_endpoints);
}
}  // namespace

Json masked_prefs(const Plan& plan) {
  Json j = Json::object();
  apply(j, plan, true);
  return j;
}

Json full_prefs(const Json& current, const Plan& plan) {
  Json j = current.is_object() ? current : Json::object();
  j.erase("Config");  // Persist: start keeps the stored one; never send keys back
  // A chosen exit node ends the automatic choice (tailscaled's EditPrefs clears it the same way).
  if (plan.settings.exit_node && plan.exit && plan.exit->auto_expr.empty() && j.contains("AutoExitNode"))
    j["AutoExitNode"] = "";
  apply(j, plan, false);
  return j;
}

}  // namespace tb::cmd
