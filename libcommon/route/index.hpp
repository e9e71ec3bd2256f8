#pragma once
// Sublinear lookup structures shared by rule items and the router's rule index.
//
// DomainIndex answers "which ids have a domain / domain_suffix value that matches host H" with one
// hash probe per label suffix of H (docs/singbox.md, "Domain matching"):
//   exact "a.b"          matches H == "a.b"
//   suffix "a.b"         matches H == "a.b" or H ends with ".a.b" (label boundary, sing-box ≥ 1.9)
//   suffix ".a.b"        matches H ends with ".a.b" (strict subdomains)
// Values are stored as written: H is lower-cased by the caller, values are not, so an upper-case
// value never matches (the [quirk] sing-box has; see sb-route.json(5)).
//
// PrefixIndex answers "which ids have a prefix containing address A" with one hash probe per
// distinct prefix length present (at most 33 for IPv4, 129 for IPv6), whatever the prefix count.
//
// Both are flat open-addressing tables (linear probing, power-of-two capacity, load ≤ 1/2): a
// probe touches one slot (and, for domains, the key bytes in one contiguous arena), no nodes,
// and a lookup never allocates. The domain hash is computed right to left, so one pass over H
// yields the hash of every label suffix.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/route/ip.hpp"

namespace tb::route {

// 64-bit finaliser (MurmurHash3 fmix64): spreads the low-entropy inputs over the table bits.
inline uint64_t mix64(uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Ids are appended in insertion order; callers insert in increasing id order, so each posting list
// is sorted and the first element is the smallest id.
// A posting handle is the id itself while a key has one id (no allocation), or kList|n for the
// n-th overflow list once it has more.
class Postings {
 public:
  static constexpr uint32_t kList = 0x80000000u;
  static constexpr uint32_t kNone = 0xffffffffu;  // no id (never a valid handle)
  // Adds id to the posting `handle` (updated in place; kNone starts a posting).
  void push(uint32_t& handle, uint32_t id) {
    if (handle == kNone) {
      handle = id;
      return;
    }
    if (!(handle & kList)) {
      if (handle == id) return;
      lists_.push_back({handle, id});
      handle = kList | static_cast<uint32_t>(lists_.size() - 1);
      return;
    }
    auto& l = lists_[handle & ~kList];
    if (l.back() != id) l.push_back(id);
  }
  template <typename F>
  bool visit(uint32_t handle, F& fn) const {
    if (handle == kNone) return true;
    if (!(handle & kList)) return fn(handle);
    for (uint32_t id : lists_[handle & ~kList])
      if (!fn(id)) return false;
    return true;
  }

 private:
  std::vector<std::vector<uint32_t>> lists_;
};

class DomainIndex {
 public:
  void add_exact(std::string_view value, uint32_t id) { postings_.push(slot(value).post[kExact], id); }
  // A leading dot means strict subdomains only.
  void add_suffix(std::string_view value, uint32_t id) {
    if (!value.empty() && value[0] == '.')
      postings_.push(slot(value.substr(1)).post[kStrict], id);
    else
      postings_.push(slot(value).post[kSuffix], id);
  }
  bool empty() const { return keys_ == 0; }
  // Distinct values (a value added as several kinds counts once).
  size_t size() const { return keys_; }
  // Capacity hint before adding about n values.
  void reserve(size_t n, size_t chars = 0);

  // Calls fn(id) for every id matching host (ids may repeat across kinds; order unspecified).
  // fn returns false to stop.
  template <typename F>
  void lookup(std::string_view host, F&& fn) const {
    if (host.empty() || keys_ == 0) return;
    // Right to left: at each '.', h is the hash of the label suffix after it.
    uint64_t h = kSeed;
    for (size_t i = host.size(); i-- > 0;) {
      char ch = host[i];
      if (ch == '.') {
        const Slot* s = find(host.substr(i + 1), mix64(h));
        // Strict ".x" needs a label before the dot: the host ".x" is not a subdomain of x.
        if (s && (!postings_.visit(s->post[kSuffix], fn) || (i > 0 && !postings_.visit(s->post[kStrict], fn))))
          return;
      }
      h = step(h, ch);
    }
    if (const Slot* s = find(host, mix64(h)))
      if (!postings_.visit(s->post[kExact], fn) || !postings_.visit(s->post[kSuffix], fn)) return;
  }

 private:
  static constexpr int kExact = 0, kSuffix = 1, kStrict = 2;
  static constexpr uint64_t kSeed = 0xcbf29ce484222325ULL;
  static uint64_t step(uint64_t h, char ch) { return (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL; }
  static uint64_t hash(std::string_view s) {
    uint64_t h = kSeed;
    for (size_t i = s.size(); i-- > 0;) h = step(h, s[i]);
    return h;
  }
  struct Slot {
    uint64_t hash = 0;
    uint32_t off = 0, len = kEmpty;  // key = arena_[off, off+len)
    uint32_t post[3] = {Postings::kNone, Postings::kNone, Postings::kNone};
  };
  static constexpr uint32_t kEmpty = 0xffffffffu;

  // A bit per hash in a small filter (8+ bits per key) answers most misses (the TLD and other
  // suffixes nobody listed) without touching the big slot array.
  bool maybe(uint64_t h) const {
    uint64_t b = (h >> 32) & filter_mask_;
    return (filter_[b >> 6] >> (b & 63)) & 1;
  }
  const Slot* find(std::string_view key, uint64_t h) const {
    if (!maybe(h)) return nullptr;
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return nullptr;
      if (s.hash == h && s.len == key.size() && std::memcmp(arena_.data() + s.off, key.data(), key.size()) == 0)
        return &s;
    }
  }
  Slot& slot(std::string_view key);  // find or insert
  void set_filter(uint64_t h) {
    uint64_t b = (h >> 32) & filter_mask_;
    filter_[b >> 6] |= uint64_t{1} << (b & 63);
  }

  std::vector<Slot> slots_;
  std::vector<uint64_t> filter_;
  uint64_t filter_mask_ = 0;  // filter bits - 1
  std::string arena_;
  size_t keys_ = 0;
  Postings postings_;
};

class PrefixIndex {
 public:
  void add(const Prefix& p, uint32_t id);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }

  // Calls fn(id) for every id whose prefix contains a, longest prefix first. fn returns false to stop.
  template <typename F>
  void lookup(const IpAddr& a, F&& fn) const {
    if (a.v4) {
      uint32_t v = a.v4_value();
      for (const auto& level : v4_) {
        uint32_t post = level.find(v & level.mask);
        if (post != Postings::kNone && !postings_.visit(post, fn)) return;
      }
      return;
    }
    if (v6_.empty()) return;
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; ++i) hi = (hi << 8) | a.bytes[i];
    for (int i = 8; i < 16; ++i) lo = (lo << 8) | a.bytes[i];
    for (const auto& level : v6_) {
      auto [khi, klo] = mask6(hi, lo, level.bits);
      if (const uint32_t* post = level.find(khi, klo))
        if (!postings_.visit(*post, fn)) return;
    }
  }

 private:
  static std::pair<uint64_t, uint64_t> mask6(uint64_t hi, uint64_t lo, int bits) {
    if (bits <= 64) return {bits == 0 ? 0 : (hi & (~uint64_t{0} << (64 - bits))), 0};
    if (bits < 128) return {hi, lo & (~uint64_t{0} << (128 - bits))};
    return {hi, lo};
  }
  // One prefix length: masked address → posting handle.
  struct Level {
    int bits = 0;
    struct Slot {
      uint64_t hi = 0, lo = 0;
      uint32_t post = Postings::kNone;  // kNone: empty slot
    };
    std::vector<Slot> slots;
    size_t used = 0;
    static uint64_t hash(uint64_t hi, uint64_t lo) { return mix64(hi ^ mix64(lo + 0x9e3779b97f4a7c15ULL)); }
    const uint32_t* find(uint64_t hi, uint64_t lo) const {
      size_t mask = slots.size() - 1;
      for (size_t i = hash(hi, lo) & mask;; i = (i + 1) & mask) {
        const Slot& s = slots[i];
        if (s.post == Postings::kNone) return nullptr;
        if (s.hi == hi && s.lo == lo) return &s.post;
      }
    }
    uint32_t& insert(uint64_t hi, uint64_t lo);
  };
  // One IPv4 prefix length: 8-byte slots (masked address, posting), so a table of 100k prefixes
  // is 2 MiB rather than 6. A masked address is never kNone's partner: emptiness is post == kNone.
  struct Level4 {
    int bits = 0;
    uint32_t mask = 0;  // netmask of `bits`
    struct Slot {
      uint32_t key = 0;
      uint32_t post = Postings::kNone;  // kNone: empty slot
    };
    std::vector<Slot> slots;
    size_t used = 0;
    static uint64_t hash(uint32_t key) { return mix64(key); }
    uint32_t find(uint32_t key) const {
      size_t m = slots.size() - 1;
      for (size_t i = hash(key) & m;; i = (i + 1) & m) {
        const Slot& s = slots[i];
        if (s.key == key || s.post == Postings::kNone) return s.post;
      }
    }
    uint32_t& insert(uint32_t key);
  };
  template <typename L>
  static L& level(std::vector<L>& levels, int bits);

  std::vector<Level4> v4_;  // longest prefix first
  std::vector<Level> v6_;
  Postings postings_;
  size_t count_ = 0;
};

}  // namespace tb::route
