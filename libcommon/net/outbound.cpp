#include "libcommon/net/outbound.hpp"

namespace tb::net {

std::map<std::string, OutboundSpec> outbounds_from_config(const tb::route::RouteConfig& config) {
  std::map<std::string, OutboundSpec> out;
  bool any = false;
  for (const auto& o : config.outbounds) {
    OutboundSpec s;
    s.tag = o.tag;
    s.type = o.type;
    s.dial = o.dial;
    if (s.type == "socks" || s.type == "http") {
      s.server = HostPort{o.server, o.server_port};
      s.username = o.username;
      s.password = o.password;
      s.socks_version = o.socks_version;
    }
    if (s.type == "tailscale") s.detour = o.dial.detour;
    // protocol/direct/outbound.go: UDPFragmentDefault is true for direct, false for the others.
    if (!s.dial.udp_fragment) s.dial.udp_fragment = s.type == "direct";
    out[s.tag] = std::move(s);
    any = any || !o.endpoint;
  }
  if (!any && !out.count("direct")) {  // sing-box's implicit direct outbound
    OutboundSpec s;
    s.tag = s.type = "direct";
    s.dial.udp_fragment = true;
    s.dial.routing_mark = config.default_mark;
    s.dial.default_interface = config.default_interface;
    s.dial.auto_detect_interface = config.default_interface.empty() && config.auto_detect_interface;
    out["direct"] = s;
  }
  return out;
}

std::vector<InboundSpec> inbounds_from_config(const tb::route::RouteConfig& config) {
  std::vector<InboundSpec> out;
  for (const auto& i : config.inbounds) out.push_back({i.tag, i.type, i.listen, i.listen_port, i.users, i.socket});
  return out;
}

}  // namespace tb::net
