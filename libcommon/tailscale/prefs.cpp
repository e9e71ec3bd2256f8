#include "libcommon/tailscale/prefs.hpp"

namespace tb::ts {

core::Result<Prefs> prefs_from_json(const core::Json& d) {
  using namespace core;
  if (!d.is_object()) return fail(ExitCode::kProtocol, "prefs: the daemon's reply is not a JSON object");
  Prefs p;
  p.control_url = get_string(d, "ControlURL");
  p.route_all = get_bool(d, "RouteAll");
  p.exit_node_id = get_string(d, "ExitNodeID");
  p.exit_node_ip = get_string(d, "ExitNodeIP");
  p.exit_node_allow_lan_access = get_bool(d, "ExitNodeAllowLANAccess");
  p.auto_exit_node = get_string(d, "AutoExitNode");
  p.corp_dns = get_bool(d, "CorpDNS");
  p.run_ssh = get_bool(d, "RunSSH");
  p.want_running = get_bool(d, "WantRunning");
  p.logged_out = get_bool(d, "LoggedOut");
  p.shields_up = get_bool(d, "ShieldsUp");
  p.advertise_tags = get_strings(d, "AdvertiseTags");
  p.advertise_routes = get_strings(d, "AdvertiseRoutes");
  p.hostname = get_string(d, "Hostname");
  p.operator_user = get_string(d, "OperatorUser");
  p.netfilter_mode = get_int(d, "NetfilterMode");
  p.raw = d;
  return p;
}

core::Result<Prefs> parse_prefs(std::string_view body) {
  return core::parse_json(body, core::ExitCode::kProtocol, "prefs: tailscaled sent invalid JSON").and_then(prefs_from_json);
}

}  // namespace tb::ts
