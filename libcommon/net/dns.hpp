#pragma once
// Just enough DNS (RFC 1035) to ask tailscaled's resolver at 100.100.100.100 for A/AAAA records.
//
// Header: ID(2) FLAGS(2) QDCOUNT(2) ANCOUNT(2) NSCOUNT(2) ARCOUNT(2)
// Question: QNAME (length-prefixed labels, 0) QTYPE(2) QCLASS(2)
// Answer RR: NAME (labels or a 0xC0 pointer) TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA

#include <string>
#include <vector>

#include "libcommon/net/bytes.hpp"

namespace tb::net::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeAAAA = 28;

Buffer query(uint16_t id, const std::string& name, uint16_t qtype);

struct Answer {
  uint16_t id = 0;
  int rcode = 0;
  std::vector<std::string> addresses;  // A and AAAA answers as text
};
Parsed<Answer> parse_response(Bytes in);

}  // namespace tb::net::dns
