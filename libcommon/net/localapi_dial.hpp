#pragma once
// The Local API dial transport: tailscaled opens the connection for us. `POST /localapi/v0/dial`
// with `Upgrade: ts-dial`, `Connection: upgrade` and the destination in `Dial-Host`, `Dial-Port`
// and `Dial-Network` (tailscale.com v1.102.5 ipn/localapi serveDial, client/local UserDial) is
// answered `101 Switching Protocols`, after which the Local API connection is a raw stream to the
// destination. A destination outside the tailnet is answered `200` with `Dial-Self: true` and
// `Dial-Addr: ip:port` (newer daemons): the client dials that address itself.
//
// It is sb-relay's third way into the tailnet beside the kernel TUN and tailscaled's SOCKS5
// (--socks5-server): it needs neither tailscale0 nor a proxy, only the Local API socket. Which
// way a tailscale endpoint takes (man/sb-relay.1, "TAILNET TRANSPORTS"):
//   auto    TUN when the status says tailscaled has one; in userspace mode the dial transport
//           when the endpoint has no detour (falling back to SOCKS5 on 127.0.0.1:1055 when the
//           daemon offers no dial endpoint: no socket, HTTP 404), else its detour proxy;
//   dial    always the dial transport (errors are the connection's errors);
//   socks5  tailscaled's proxy: the endpoint's detour, else SOCKS5 on 127.0.0.1:1055 (the TUN
//           when the status says there is one).
// Set once at start (sb-relay --socket, --tailscale-transport), read by every session.
// Internal header: it includes asio.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/error.hpp"

#include "libcommon/net/dialer.hpp"

namespace tb::net {

enum class TailnetTransport { kAuto, kDial, kSocks5 };

struct DialTransportSettings {
  std::string socket;                                // tailscaled's Local API socket
  TailnetTransport all = TailnetTransport::kAuto;    // --tailscale-transport MODE
  std::map<std::string, TailnetTransport> by_tag;    // --tailscale-transport TAG=MODE
};

// "auto", "dial" or "socks5"; nullopt for anything else.
std::optional<TailnetTransport> parse_tailnet_transport(const std::string& s);
const char* tailnet_transport_name(TailnetTransport t);
void set_dial_transport(DialTransportSettings s);  // before any session starts
// sb-relay's flags → the settings: the socket (--socket, else $TS_SOCKET, else
// /var/run/tailscale/tailscaled.sock) and each --tailscale-transport MODE or TAG=MODE.
// kUsage naming the bad value.
tb::core::Result<void> configure_dial_transport(std::string socket, const std::vector<std::string>& specs);
const DialTransportSettings& dial_transport();
// The TAGs of --tailscale-transport TAG=MODE that name no tailscale endpoint of `plan` (a typo
// would otherwise leave the endpoint on auto without a word), in order; empty when all do.
std::vector<std::string> unknown_transport_tags(const Plan& plan);

// The transport a tailscale endpoint takes under `plan` for a destination that is not this
// host: "tun", "dial" or "socks5" (auto resolved; the dial fallback is not foreseen).
std::string tailnet_transport_for(const Plan& plan, const OutboundSpec& ob);

// One connection through the Local API at `socket` to host:port (the daemon resolves names).
awaitable<DialResult> localapi_dial(const std::string& socket, const HostPort& dst, const DialOptions& opts);

// The hook in connect_outbound: the dial transport's result when this endpoint takes it for
// `target` (a loopback target never does), nullopt to go on as before.
awaitable<std::optional<DialResult>> tailnet_dial_hook(const Plan& plan, const OutboundSpec& ob, const HostPort& target);

}  // namespace tb::net
