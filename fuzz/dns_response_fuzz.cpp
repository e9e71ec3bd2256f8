// The DNS response parser that reads 100.100.100.100's answers (MagicDNS and split DNS under the
// tailnet suffix): untrusted UDP, so every byte is the sender's choice. Invariants: a parsed
// response used the whole message; its addresses are IPv4 or IPv6 literals; its question name has
// at most 255 bytes; a query built for that name and type, answered (QR set), parses back to the
// same ID, type and name. The same bytes as a query (hijack-dns): a parsed query has one question
// of at most 255 bytes, and the response built for a plain name parses back with its ID, type,
// name and one address of the asked family.

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/net/dns.hpp"

namespace dns = tb::net::dns;
using tb::net::Bytes;

namespace {

bool is_address(const std::string& text) {
  uint8_t raw[16];
  return inet_pton(AF_INET, text.c_str(), raw) == 1 || inet_pton(AF_INET6, text.c_str(), raw) == 1;
}

}  // namespace

// Whether the dotted name survives query(): no empty labels, none above 63 bytes.
bool plain_name(const std::string& name) {
  bool plain = !name.empty() && name.front() != '.' && name.back() != '.' && name.find("..") == std::string::npos;
  for (size_t s = 0, e; plain && s <= name.size(); s = e + 1) {
    e = name.find('.', s);
    if (e == std::string::npos) e = name.size();
    plain = e - s <= 63;
  }
  return plain;
}

void check_query(Bytes in) {
  auto q = dns::parse_query(in);
  if (!q.ok()) {
    FUZZ_CHECK(q.status == tb::net::ParseStatus::kBad && !q.error.empty());
    return;
  }
  FUZZ_CHECK(q.value.qname.size() <= 255);
  auto out = dns::response(q.value, 0, {"192.0.2.1", "2001:db8::1", "junk"}, 60);
  if (!plain_name(q.value.qname)) return;
  auto back = dns::parse_response(Bytes(out.data(), out.size()));
  FUZZ_CHECK(back.ok() && back.value.id == q.value.id && back.value.qtype == q.value.qtype);
  bool address_type = q.value.qtype == dns::kTypeA || q.value.qtype == dns::kTypeAAAA;
  FUZZ_CHECK(back.value.qname == q.value.qname && back.value.addresses.size() == (address_type ? 1u : 0u));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  check_query(in);
  auto p = dns::parse_response(in);
  if (!p.ok()) {
    FUZZ_CHECK(p.status == tb::net::ParseStatus::kBad && !p.error.empty());
    return 0;
  }
  FUZZ_CHECK(p.used == size);
  FUZZ_CHECK(p.value.rcode >= 0 && p.value.rcode <= 15);
  FUZZ_CHECK(p.value.qname.size() <= 255);
  for (const auto& a : p.value.addresses) FUZZ_CHECK(is_address(a));
  // Our own query for the name it asked about, as the resolver would echo it: labels with a dot
  // inside or longer than 63 bytes do not survive the dotted form, so only plain names are checked.
  const std::string& name = p.value.qname;
  if (plain_name(name)) {
    auto q = dns::query(p.value.id, name, p.value.qtype);
    q[2] |= 0x80;
    auto back = dns::parse_response(Bytes(q.data(), q.size()));
    FUZZ_CHECK(back.ok() && back.value.id == p.value.id && back.value.qtype == p.value.qtype);
    FUZZ_CHECK(back.value.qname == name && back.value.addresses.empty());
  }
  return 0;
}
