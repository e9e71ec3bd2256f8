#include "libcommon/route/ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tb::route {

std::optional<IpAddr> IpAddr::parse(std::string_view text, Mapped mapped) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  // Cheap reject for names: an address starts with a hex digit or ':'.
  char first = text[0];
  if (!((first >= '0' && first <= '9') || (first >= 'a' && first <= 'f') || (first >= 'A' && first <= 'F') || first == ':'))
    return std::nullopt;
  char s[46];
  std::memcpy(s, text.data(), text.size());
  s[text.size()] = '\0';
  IpAddr a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, s, a.bytes.data()) != 1) return std::nullopt;
    a.v4 = true;
    return a;
  }
  if (inet_pton(AF_INET6, s, a.bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (mapped == Mapped::kUnmap && std::equal(kMapped, kMapped + 12, a.bytes.begin())) {
    IpAddr m;
    m.v4 = true;
    std::copy(a.bytes.begin() + 12, a.bytes.end(), m.bytes.begin());
    return m;
  }
  return a;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

namespace {
IpAddr mask(IpAddr a, int bits) {
  int total = a.v4 ? 32 : 128;
  for (int i = bits; i < total; ++i) a.bytes[i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
  return a;
}
}  // namespace

std::optional<Prefix> Prefix::parse(std::string_view text) {
  auto slash = text.find('/');
  // netip.ParsePrefix: "::ffff:0:0/96" is an IPv6 prefix (it never holds an unmapped address).
  auto addr = IpAddr::parse(text.substr(0, slash), IpAddr::Mapped::kKeep);
  if (!addr) return std::nullopt;
  int total = addr->v4 ? 32 : 128;
  int bits = total;
  if (slash != std::string_view::npos) {
    auto num = text.substr(slash + 1);
    if (num.empty() || num.size() > 3 || (num.size() > 1 && num[0] == '0')) return std::nullopt;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), bits);
    if (ec != std::errc{} || p != num.data() + num.size() || bits < 0 || bits > total) return std::nullopt;
  }
  return Prefix{mask(*addr, bits), bits};
}

bool Prefix::contains(const IpAddr& a) const {
  if (a.v4 != addr.v4) return false;
  return mask(a, bits) == addr;
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(bits); }

bool is_public(const IpAddr& a) {
  const auto& b = a.bytes;
  if (a.v4) {
    if (b[0] == 10) return false;                                   // private
    if (b[0] == 172 && (b[1] & 0xf0) == 16) return false;           // private
    if (b[0] == 192 && b[1] == 168) return false;                   // private
    if (b[0] == 127) return false;                                  // loopback
    if ((b[0] & 0xf0) == 224) return false;                         // multicast
    if (b[0] == 169 && b[1] == 254) return false;                   // link-local
    if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) return false;  // unspecified
    return true;
  }
  if ((b[0] & 0xfe) == 0xfc) return false;                // fc00::/7
  if (b[0] == 0xff) return false;                         // multicast (incl. interface-local ff01::/16)
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // fe80::/10
  bool zero15 = true;
  for (int i = 0; i < 15; ++i) zero15 = zero15 && b[i] == 0;
  if (zero15 && (b[15] == 0 || b[15] == 1)) return false;  // :: and ::1
  return true;
}

bool is_tailscale_ip(const IpAddr& a) {
  const auto& b = a.bytes;
  if (a.v4) return b[0] == 100 && (b[1] & 0xc0) == 64;
  return b[0] == 0xfd && b[1] == 0x7a && b[2] == 0x11 && b[3] == 0x5c && b[4] == 0xa1 && b[5] == 0xe0;
}

std::optional<std::pair<std::string, uint16_t>> split_host_port(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || p != port.data() + port.size() || value > 65535)
    return std::nullopt;
  return std::pair{std::string(host), static_cast<uint16_t>(value)};
}

}  // namespace tb::route
