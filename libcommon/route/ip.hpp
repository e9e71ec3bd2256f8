#pragma once
// IP addresses and prefixes for rule matching, with sing-box's notion of "public" (docs/singbox.md,
// "IP items").
// Parsing only (inet_pton); no sockets.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tb::route {

struct IpAddr {
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes
  bool v4 = false;

  // Accepts dotted IPv4 and RFC 4291 IPv6 (no brackets, no zone). IPv4-mapped IPv6 is unmapped
  // by default, as Go's netip.Addr.Unmap() is applied to connection metadata; kKeep keeps it an
  // IPv6 address, as netip.ParseAddr does for a config's values (override_address, ip_cidr).
  enum class Mapped { kUnmap, kKeep };
  static std::optional<IpAddr> parse(std::string_view text, Mapped mapped = Mapped::kUnmap);
  std::string str() const;
  uint32_t v4_value() const {
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
  }
  bool operator==(const IpAddr&) const = default;
};

struct Prefix {
  IpAddr addr;  // masked to bits
  int bits = 0;

  // "10.0.0.0/8", "fd7a::/48", or a bare address (one-host prefix). Non-canonical prefixes such
  // as 192.168.1.1/24 are accepted and masked, as netip.ParsePrefix + Masked() do.
  static std::optional<Prefix> parse(std::string_view text);
  bool contains(const IpAddr& a) const;
  std::string str() const;
  bool operator==(const Prefix&) const = default;
};

// Go's N.IsPublicAddr: not private (RFC 1918, fc00::/7), loopback, multicast, link-local unicast,
// interface-local multicast or unspecified. So 100.64.0.0/10 is public and fd7a:115c:a1e0::/48 private.
bool is_public(const IpAddr& a);

// 100.64.0.0/10 or fd7a:115c:a1e0::/48.
bool is_tailscale_ip(const IpAddr& a);

// "host:port", "[v6]:port" → host and port. Returns nullopt on a missing or bad port.
std::optional<std::pair<std::string, uint16_t>> split_host_port(std::string_view text);

}  // namespace tb::route
