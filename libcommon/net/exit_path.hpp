#pragma once
// Which exit node a connection leaves by (sb-relay's conn records, "exit_node"), from the plan's
// tailnet state: the exit node tailscaled has in use, when the connection's path goes through it.
//   - the tailscale endpoint, to a destination outside the tailnet: tailscaled sends it to its
//     exit node (TUN or userspace alike);
//   - a direct outbound, with a kernel TUN: the host's routing sends it to tailscale0 (table 52),
//     unless the outbound carries tailscale's bypass mark (routing_mark 0x80000 in 0xff0000, the
//     mark tailscaled puts on its own sockets) or binds to an interface;
//   - a destination outside the tailnet is a public address (Go's IsPublicAddr, without the
//     Tailscale ranges) outside every peer's subnet routes: private LAN addresses are left out, as
//     tailscaled may keep them local (exit_node_allow_lan_access; the status does not say).
// Anything else (another proxy, a LAN or tailnet address, no exit node in use): nullopt.

#include <optional>
#include <string>

#include "libcommon/net/outbound.hpp"
#include "libcommon/route/tailnet.hpp"

namespace tb::net {

struct Plan;

std::optional<tb::route::TailnetNode> exit_node_for(const tb::route::TailnetState& tailnet, bool tun,
                                                    const OutboundSpec& outbound, const std::string& dialed_ip);
// The same from a plan (its router's tailnet and its TUN flag).
std::optional<tb::route::TailnetNode> exit_node_for(const Plan& plan, const OutboundSpec& outbound, const std::string& dialed_ip);

}  // namespace tb::net
