#pragma once
// Just enough DNS (RFC 1035) for sb-relay's lookups (A/AAAA questions to tailscaled's resolver
// and the configured servers) and for answering the queries hijack-dns hands it: the wire codec
// only (no sockets; the asking is in resolve.cpp and dns_transport*.cpp). Messages come from the
// network, so the parsers are fuzzed (fuzz/dns_response_fuzz.cpp).
//
// Header: ID(2) FLAGS(2) QDCOUNT(2) ANCOUNT(2) NSCOUNT(2) ARCOUNT(2)
// Question: QNAME (length-prefixed labels, 0) QTYPE(2) QCLASS(2)
// Answer RR: NAME (labels, or a pointer: two bytes 0b11 + offset, RFC 1035 §4.1.4) TYPE(2)
//            CLASS(2) TTL(4) RDLENGTH(2) RDATA

#include <string>
#include <vector>

#include "libcommon/net/bytes.hpp"

namespace tb::net::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeAAAA = 28;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeOpt = 41;

// A recursive query (RD set) for `name` (dots between labels; a label beyond 63 bytes is cut).
Buffer query(uint16_t id, const std::string& name, uint16_t qtype);

// A query ID from the kernel's random source (getrandom), so an off-path sender cannot guess it
// (RFC 5452 §4.3).
uint16_t random_id();

struct Answer {
  uint16_t id = 0;
  int rcode = 0;
  std::string qname;  // the first question's name, dotted, as sent ("" when there is none)
  uint16_t qtype = 0; // the first question's type
  std::vector<std::string> addresses;  // A and AAAA answers as text, in answer order
  bool truncated = false;              // TC: ask again over TCP
  // How long the answer may be kept, as sing-box's client.go takes it: with no answer records,
  // min(TTL, MINIMUM) of the authority section's SOA (RFC 2308 §5); else, or without one, the
  // smallest non-zero TTL of all records; 0 (not kept) when there is none.
  uint32_t ttl = 0;
};
// kBad for anything that is not a whole, well-formed response (a query, a cut message, a name
// that runs off the end or loops through its pointers).
Parsed<Answer> parse_response(Bytes in);

struct Question {
  uint16_t id = 0;
  std::string qname;  // dotted, as sent
  uint16_t qtype = 0, qclass = 0;
  bool recursion_desired = false;
};
// A query with exactly one question (what sing-box's hijack-dns answers); kBad otherwise.
Parsed<Question> parse_query(Bytes in);

// The response to `q`: `rcode`, and for rcode 0 one A or AAAA record per address of the
// question's type (the others are left out), each with `ttl`. Names are written in full.
Buffer response(const Question& q, int rcode, const std::vector<std::string>& addresses, uint32_t ttl);

}  // namespace tb::net::dns
