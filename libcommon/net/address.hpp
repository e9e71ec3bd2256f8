#pragma once
// A destination as a proxy client names it: a domain or an IP literal, and a port.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tb::net {

struct HostPort {
  std::string host;  // domain (as given) or IP literal without brackets
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
  // "host:port", "[v6]:port"
  std::string str() const;
};

// "host:port" / "[v6]:port" → HostPort; default_port when the port is missing (0 = required).
std::optional<HostPort> parse_host_port(std::string_view text, uint16_t default_port = 0);

// True for a dotted IPv4 or an IPv6 literal.
bool is_ip_literal(std::string_view host);

// True when a client's host name holds a byte no name has: a control character (CR, LF, NUL …),
// a space or DEL. Such a name would break the header lines it is written into upstream.
bool has_control_or_space(std::string_view host);

// Lower-case copy with a trailing dot removed (names compare this way).
std::string normalize_name(std::string_view name);

}  // namespace tb::net
