// SOCKS5 (RFC 1928/1929) codecs of sb-relay's mixed inbound and socks upstream: every parser on the
// same bytes. Invariants: a parser never claims more bytes than it was given; a complete message
// is still complete when given exactly `used` bytes and is never complete one byte short; a
// parsed request re-serialises (append_address) to bytes that parse to the same destination.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/net/socks5.hpp"

namespace s5 = tb::net::socks5;
using tb::net::Buffer;
using tb::net::Bytes;
using tb::net::ParseStatus;

namespace {

template <typename Parse>
void check_prefixes(Bytes in, const Parse& parse) {
  auto full = parse(in);
  if (full.status != ParseStatus::kDone) return;
  FUZZ_CHECK(full.used > 0 && full.used <= in.size());
  auto exact = parse(in.first(full.used));
  FUZZ_CHECK(exact.status == ParseStatus::kDone && exact.used == full.used);
  auto short_by_one = parse(in.first(full.used - 1));
  FUZZ_CHECK(short_by_one.status != ParseStatus::kDone);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);

  check_prefixes(in, [](Bytes b) { return s5::parse_greeting(b); });
  if (auto g = s5::parse_greeting(in); g.ok()) FUZZ_CHECK(g.value.methods.size() == g.used - 2);

  check_prefixes(in, [](Bytes b) { return s5::parse_user_pass(b); });
  if (auto up = s5::parse_user_pass(in); up.ok()) {
    FUZZ_CHECK(up.used == 3 + up.value.user.size() + up.value.password.size());
    Buffer again = s5::user_pass_request(up.value.user, up.value.password);
    FUZZ_CHECK(again.size() == up.used && std::equal(again.begin(), again.end(), in.begin()));
  }

  check_prefixes(in, [](Bytes b) { return s5::parse_request(b).parsed; });
  auto req = s5::parse_request(in);
  if (req.parsed.ok()) {
    const auto& r = req.parsed.value;
    Buffer again{s5::kVersion, r.command, 0x00};
    s5::append_address(again, r.destination);
    auto back = s5::parse_request(again);
    FUZZ_CHECK(back.parsed.ok() && back.parsed.used == again.size());
    FUZZ_CHECK(back.parsed.value.command == r.command);
    FUZZ_CHECK(back.parsed.value.destination.port == r.destination.port);
    // A domain that spells an IP literal comes back as that IP (and IPv6 text in canonical form).
    if (r.atyp != s5::Atyp::kDomain || back.parsed.value.atyp == s5::Atyp::kDomain)
      FUZZ_CHECK(back.parsed.value.destination.host == r.destination.host);
  }

  check_prefixes(in, [](Bytes b) { return s5::parse_reply(b); });
  (void)s5::parse_method_reply(in);
  (void)s5::parse_user_pass_reply(in);
  if (auto rep = s5::parse_reply(in); rep.ok()) (void)s5::reply_name(rep.value.code);

  auto udp = s5::parse_udp_header(in);
  FUZZ_CHECK(udp.status != ParseStatus::kNeedMore);  // datagrams are whole: done or bad
  if (udp.ok()) {
    FUZZ_CHECK(udp.used <= in.size());
    Buffer hdr = s5::udp_header(udp.value);
    auto back = s5::parse_udp_header(hdr);
    FUZZ_CHECK(back.ok() && back.used == hdr.size() && back.value.port == udp.value.port);
  }
  return 0;
}
