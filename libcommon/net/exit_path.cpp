#include "libcommon/net/exit_path.hpp"

#include "libcommon/net/plan.hpp"
#include "libcommon/route/ip.hpp"

namespace tb::net {

namespace {
constexpr uint32_t kBypassMark = 0x80000, kMarkMask = 0xff0000;  // tailscale's net/netns (linux)

bool in_subnet_route(const tb::route::TailnetState& t, const tb::route::IpAddr& a) {
  for (const auto& p : t.peers)
    for (const auto& r : p.routes)
      if (r.bits > 0 && r.contains(a)) return true;
  return false;
}
}  // namespace

std::optional<tb::route::TailnetNode> exit_node_for(const tb::route::TailnetState& t, bool tun, const OutboundSpec& ob,
                                                    const std::string& dialed_ip) {
  if (!t.running() || !t.exit_node) return std::nullopt;
  auto a = tb::route::IpAddr::parse(dialed_ip);
  if (!a || !tb::route::is_public(*a) || tb::route::is_tailscale_ip(*a) || in_subnet_route(t, *a)) return std::nullopt;
  if (ob.type == "tailscale") return t.exit_node;
  if (ob.type != "direct" || !tun || !ob.dial.bind_interface.empty()) return std::nullopt;
  if (ob.dial.routing_mark && (*ob.dial.routing_mark & kMarkMask) == kBypassMark) return std::nullopt;
  return t.exit_node;
}

std::optional<tb::route::TailnetNode> exit_node_for(const Plan& plan, const OutboundSpec& ob, const std::string& dialed_ip) {
  return exit_node_for(plan.router->tailnet(), plan.tun, ob, dialed_ip);
}

}  // namespace tb::net
