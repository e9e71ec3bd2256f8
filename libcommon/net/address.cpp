#include "libcommon/net/address.hpp"

#include <arpa/inet.h>

#include <cctype>

#include "libcommon/core/strings.hpp"

namespace tb::net {

std::string HostPort::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool is_ip_literal(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool has_control_or_space(std::string_view host) {
  for (unsigned char c : host)
    if (c <= 0x20 || c == 0x7f) return true;
  return false;
}

std::string normalize_name(std::string_view name) {
  return tb::core::lower(tb::core::without_trailing_dot(name));
}

static std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::optional<HostPort> parse_host_port(std::string_view text, uint16_t default_port) {
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    hp.host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
    if (!is_ip_literal(hp.host)) return std::nullopt;
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      // Bare IPv6 without brackets: only valid with no port.
      if (!is_ip_literal(text)) return std::nullopt;
      hp.host = std::string(text);
    } else if (colon != std::string_view::npos) {
      hp.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
    } else {
      hp.host = std::string(text);
    }
  }
  if (hp.host.empty()) return std::nullopt;
  if (port_text.empty()) {
    if (default_port == 0) return std::nullopt;
    hp.port = default_port;
  } else {
    auto p = parse_port(port_text);
    if (!p) return std::nullopt;
    hp.port = *p;
  }
  return hp;
}

}  // namespace tb::net
