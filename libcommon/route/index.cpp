#include "libcommon/route/index.hpp"

#include <algorithm>

namespace tb::route {

PrefixIndex::V6Key PrefixIndex::v6_key(const IpAddr& a, int bits) {
  V6Key k;
  for (int i = 0; i < 8; ++i) k.hi = (k.hi << 8) | a.bytes[i];
  for (int i = 8; i < 16; ++i) k.lo = (k.lo << 8) | a.bytes[i];
  if (bits <= 64) {
    k.lo = 0;
    k.hi = bits == 0 ? 0 : (k.hi & (~uint64_t{0} << (64 - bits)));
  } else if (bits < 128) {
    k.lo &= ~uint64_t{0} << (128 - bits);
  }
  return k;
}

void PrefixIndex::add(const Prefix& p, uint32_t id) {
  ++count_;
  if (p.addr.v4) {
    auto it = std::find_if(v4_.begin(), v4_.end(), [&](const V4Level& l) { return l.bits == p.bits; });
    if (it == v4_.end()) {
      v4_.push_back(V4Level{p.bits, {}});
      std::sort(v4_.begin(), v4_.end(), [](const V4Level& a, const V4Level& b) { return a.bits > b.bits; });
      it = std::find_if(v4_.begin(), v4_.end(), [&](const V4Level& l) { return l.bits == p.bits; });
    }
    auto [m, inserted] = it->map.try_emplace(p.addr.v4_value(), id);
    if (!inserted) postings_.push(m->second, id);
    return;
  }
  auto it = std::find_if(v6_.begin(), v6_.end(), [&](const V6Level& l) { return l.bits == p.bits; });
  if (it == v6_.end()) {
    v6_.push_back(V6Level{p.bits, {}});
    std::sort(v6_.begin(), v6_.end(), [](const V6Level& a, const V6Level& b) { return a.bits > b.bits; });
    it = std::find_if(v6_.begin(), v6_.end(), [&](const V6Level& l) { return l.bits == p.bits; });
  }
  auto [m, inserted] = it->map.try_emplace(v6_key(p.addr, p.bits), id);
  if (!inserted) postings_.push(m->second, id);
}

}  // namespace tb::route
