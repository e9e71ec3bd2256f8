// SOCKS4/4a request parser of sb-relay's mixed inbound. Invariants: `used` within the input, the
// same answer on exactly `used` bytes and never "done" one byte short; user ids and 4a host names
// are at most 255 bytes (socks4.hpp: nothing is buffered without bound); a request re-serialises
// to exactly the bytes it was parsed from.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/net/socks4.hpp"

namespace s4 = tb::net::socks4;
using tb::net::Buffer;
using tb::net::Bytes;
using tb::net::ParseStatus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  auto p = s4::parse_request(in);
  if (!p.ok()) return 0;
  const auto& r = p.value;
  FUZZ_CHECK(p.used >= 9 && p.used <= in.size());
  FUZZ_CHECK(r.user_id.size() <= 255);
  FUZZ_CHECK(r.destination.host.size() <= 255 && !r.destination.host.empty());
  auto exact = s4::parse_request(in.first(p.used));
  FUZZ_CHECK(exact.ok() && exact.used == p.used);
  FUZZ_CHECK(s4::parse_request(in.first(p.used - 1)).status != ParseStatus::kDone);

  Buffer again{s4::kVersion, r.command, static_cast<uint8_t>(r.destination.port >> 8),
               static_cast<uint8_t>(r.destination.port & 0xff)};
  again.insert(again.end(), in.begin() + 4, in.begin() + 8);  // DSTIP (0.0.0.x for 4a)
  again.insert(again.end(), r.user_id.begin(), r.user_id.end());
  again.push_back(0);
  if (r.socks4a) {
    again.insert(again.end(), r.destination.host.begin(), r.destination.host.end());
    again.push_back(0);
  }
  FUZZ_CHECK(again.size() == p.used && std::equal(again.begin(), again.end(), in.begin()));
  FUZZ_CHECK(s4::reply(s4::kGranted).size() == 8);
  return 0;
}
