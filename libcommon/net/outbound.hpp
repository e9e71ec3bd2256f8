#pragma once
// What sb-relay needs to know about each outbound to dial it, taken from the compiled config
// (route/config.hpp reads and checks every field once): dial fields, upstream servers, and the
// tailscale endpoint's way into the tailnet.

#include <map>
#include <string>
#include <vector>

#include "libcommon/net/address.hpp"
#include "libcommon/route/config.hpp"

namespace tb::net {

using DialOptions = tb::route::DialOptions;

struct OutboundSpec {
  std::string tag;
  std::string type;  // direct | block | socks | http | tailscale
  DialOptions dial;
  // socks / http upstreams
  HostPort server;
  std::string username, password;
  std::string socks_version = "5";
  // tailscale endpoint in userspace mode: the outbound (socks/http) that reaches tailscaled's
  // proxy. The endpoint's `detour` names it; without one, SOCKS5 on 127.0.0.1:1055.
  std::string detour;
};

struct InboundSpec {
  std::string tag, type, listen = "127.0.0.1";
  uint16_t port = 0;
  std::vector<std::pair<std::string, std::string>> users;
  DialOptions socket;  // the listen fields (reuse_addr, netns, tcp_fast_open, ...)
  bool operator==(const InboundSpec&) const = default;
};

// Every outbound and endpoint of a compiled config, by tag, plus sing-box's implicit direct
// outbound when the config has no outbounds.
std::map<std::string, OutboundSpec> outbounds_from_config(const tb::route::RouteConfig& config);
std::vector<InboundSpec> inbounds_from_config(const tb::route::RouteConfig& config);

}  // namespace tb::net
