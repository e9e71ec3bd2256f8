#include "libcommon/route/index.hpp"

#include <algorithm>

namespace tb::route {

namespace {
size_t capacity_for(size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  return cap;
}
}  // namespace

void DomainIndex::reserve(size_t n, size_t chars) {
  arena_.reserve(arena_.size() + chars);
  size_t cap = capacity_for(keys_ + n);
  if (cap <= slots_.size()) return;
  std::vector<Slot> old(cap);
  old.swap(slots_);
  filter_.assign(cap / 16, 0);  // 4 bits per slot, so 8+ per key
  filter_mask_ = cap * 4 - 1;
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.len == kEmpty) continue;
    size_t i = s.hash & mask;
    while (slots_[i].len != kEmpty) i = (i + 1) & mask;
    slots_[i] = s;
    set_filter(s.hash);
  }
}

DomainIndex::Slot& DomainIndex::slot(std::string_view key) {
  if (2 * (keys_ + 1) > slots_.size()) reserve(1);
  uint64_t h = mix64(hash(key));
  size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  for (;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.len == kEmpty) break;
    if (s.hash == h && s.len == key.size() && std::memcmp(arena_.data() + s.off, key.data(), key.size()) == 0)
      return s;
  }
  Slot& s = slots_[i];
  s.hash = h;
  s.off = static_cast<uint32_t>(arena_.size());
  s.len = static_cast<uint32_t>(key.size());
  arena_.append(key);
  set_filter(h);
  ++keys_;
  return s;
}

template <typename L>
L& PrefixIndex::level(std::vector<L>& levels, int bits) {
  auto it = std::find_if(levels.begin(), levels.end(), [&](const L& l) { return l.bits == bits; });
  if (it != levels.end()) return *it;
  L l;
  l.bits = bits;
  l.slots.resize(16);
  levels.push_back(std::move(l));
  std::sort(levels.begin(), levels.end(), [](const L& a, const L& b) { return a.bits > b.bits; });
  return *std::find_if(levels.begin(), levels.end(), [&](const L& x) { return x.bits == bits; });
}

namespace {

// Finds or claims the slot of `key` (a slot holding the key, post kNone) in a linear-probing table
// kept at load <= 1/2, doubling it first when needed. Level4 and Level differ only in their key.
template <typename Slot, typename Hash, typename Same>
uint32_t& insert_slot(std::vector<Slot>& slots, size_t& used, const Slot& key, Hash hash, Same same) {
  if (2 * (used + 1) > slots.size()) {
    std::vector<Slot> old(slots.size() * 2);
    old.swap(slots);
    size_t m = slots.size() - 1;
    for (const Slot& s : old) {
      if (s.post == Postings::kNone) continue;
      size_t i = hash(s) & m;
      while (slots[i].post != Postings::kNone) i = (i + 1) & m;
      slots[i] = s;
    }
  }
  size_t m = slots.size() - 1;
  size_t i = hash(key) & m;
  for (;; i = (i + 1) & m) {
    Slot& s = slots[i];
    if (s.post == Postings::kNone) break;
    if (same(s, key)) return s.post;
  }
  ++used;
  slots[i] = key;
  return slots[i].post;  // kNone until the caller pushes
}

}  // namespace

uint32_t& PrefixIndex::Level4::insert(uint32_t key) {
  return insert_slot(
      slots, used, Slot{key, Postings::kNone}, [](const Slot& s) { return hash(s.key); },
      [](const Slot& a, const Slot& b) { return a.key == b.key; });
}

uint32_t& PrefixIndex::Level::insert(uint64_t hi, uint64_t lo) {
  return insert_slot(
      slots, used, Slot{hi, lo, Postings::kNone}, [](const Slot& s) { return hash(s.hi, s.lo); },
      [](const Slot& a, const Slot& b) { return a.hi == b.hi && a.lo == b.lo; });
}

void PrefixIndex::add(const Prefix& p, uint32_t id) {
  ++count_;
  if (p.addr.v4) {
    Level4& l = level(v4_, p.bits);
    l.mask = p.bits == 0 ? 0 : ~uint32_t{0} << (32 - p.bits);
    postings_.push(l.insert(p.addr.v4_value() & l.mask), id);
    return;
  }
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | p.addr.bytes[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | p.addr.bytes[i];
  auto [khi, klo] = mask6(hi, lo, p.bits);
  postings_.push(level(v6_, p.bits).insert(khi, klo), id);
}

}  // namespace tb::route
