// The DNS response parser that reads 100.100.100.100's answers (MagicDNS and split DNS under the
// tailnet suffix): untrusted UDP, so every byte is the sender's choice. Invariants: a parsed
// response used the whole message; its addresses are IPv4 or IPv6 literals; its question name has
// at most 255 bytes; a query built for that name and type, answered (QR set), parses back to the
// same ID, type and name.

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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
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
  bool plain = !name.empty() && name.front() != '.' && name.back() != '.' && name.find("..") == std::string::npos;
  for (size_t s = 0, e; plain && s <= name.size(); s = e + 1) {
    e = name.find('.', s);
    if (e == std::string::npos) e = name.size();
    plain = e - s <= 63;
  }
  if (plain) {
    auto q = dns::query(p.value.id, name, p.value.qtype);
    q[2] |= 0x80;
    auto back = dns::parse_response(Bytes(q.data(), q.size()));
    FUZZ_CHECK(back.ok() && back.value.id == p.value.id && back.value.qtype == p.value.qtype);
    FUZZ_CHECK(back.value.qname == name && back.value.addresses.empty());
  }
  return 0;
}
