#pragma once
// What sb-relay needs to know about each outbound to dial it, read from the merged sing-box
// config (the route loader has already checked the keys): dial fields, upstream servers, and the
// tailscale endpoint's way into the tailnet.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/net/address.hpp"

namespace tb::net {

struct DialOptions {
  std::optional<uint32_t> routing_mark;  // SO_MARK (route.default_mark when the outbound has none)
  std::string bind_interface;            // SO_BINDTOIFINDEX, falling back to SO_BINDTODEVICE
  std::string inet4_bind_address, inet6_bind_address;
  std::chrono::milliseconds connect_timeout{5000};
};

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
  bool operator==(const InboundSpec&) const = default;
};

// Go duration ("5s", "300ms", "1m30s", "1d"); nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// Integer or string with base prefix ("0x80000", "0o17", "524288").
std::optional<uint32_t> parse_mark(const tb::core::Json& v);

// Every outbound and endpoint of a merged config, by tag (tags default to the list index).
tb::core::Result<std::map<std::string, OutboundSpec>> outbounds_from_config(const tb::core::Json& merged);
std::vector<InboundSpec> inbounds_from_config(const tb::core::Json& merged);

}  // namespace tb::net
