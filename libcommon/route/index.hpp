#pragma once
// Sublinear lookup structures shared by rule items and the router's rule index.
//
// DomainIndex answers "which ids have a domain / domain_suffix value that matches host H" with one
// hash lookup per label of H (SPEC §3.4):
//   exact "a.b"          matches H == "a.b"
//   suffix "a.b"         matches H == "a.b" or H ends with ".a.b" (label boundary, sing-box ≥ 1.9)
//   suffix ".a.b"        matches H ends with ".a.b" (strict subdomains)
// Values are stored as written: H is lower-cased by the caller, values are not, so an upper-case
// value never matches (the [quirk] sing-box has; see sb-route.json(5)).
//
// PrefixIndex answers "which ids have a prefix containing address A" with one hash lookup per
// distinct prefix length present (at most 33 for IPv4, 129 for IPv6), whatever the prefix count.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "libcommon/route/ip.hpp"

namespace tb::route {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// Ids are appended in insertion order; callers insert in increasing id order, so each posting list
// is sorted and the first element is the smallest id.
// A posting handle is the id itself while a key has one id (no allocation), or kList|n for the
// n-th overflow list once it has more.
class Postings {
 public:
  static constexpr uint32_t kList = 0x80000000u;
  // Adds id to the posting `handle` (updated in place).
  void push(uint32_t& handle, uint32_t id) {
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
  void add_exact(std::string_view value, uint32_t id) { add(exact_, value, id); }
  // A leading dot means strict subdomains only.
  void add_suffix(std::string_view value, uint32_t id) {
    if (!value.empty() && value[0] == '.')
      add(strict_, value.substr(1), id);
    else
      add(suffix_, value, id);
  }
  bool empty() const { return exact_.empty() && suffix_.empty() && strict_.empty(); }
  size_t size() const { return exact_.size() + suffix_.size() + strict_.size(); }

  // Calls fn(id) for every id matching host (ids may repeat across kinds). fn returns false to stop.
  template <typename F>
  void lookup(std::string_view host, F&& fn) const {
    if (host.empty()) return;
    if (!visit(exact_, host, fn)) return;
    if (!visit(suffix_, host, fn)) return;
    for (size_t p = host.find('.'); p != std::string_view::npos; p = host.find('.', p + 1)) {
      auto rest = host.substr(p + 1);
      if (!visit(suffix_, rest, fn)) return;
      if (!visit(strict_, rest, fn)) return;
    }
  }

 private:
  using Map = std::unordered_map<std::string, uint32_t, StringHash, StringEq>;
  void add(Map& m, std::string_view value, uint32_t id) {
    auto it = m.find(value);
    if (it == m.end()) {
      m.emplace(std::string(value), id);
      return;
    }
    postings_.push(it->second, id);
  }
  template <typename F>
  bool visit(const Map& m, std::string_view key, F& fn) const {
    if (m.empty()) return true;
    auto it = m.find(key);
    if (it == m.end()) return true;
    return postings_.visit(it->second, fn);
  }
  Map exact_, suffix_, strict_;
  Postings postings_;
};

class PrefixIndex {
 public:
  void add(const Prefix& p, uint32_t id);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }

  template <typename F>
  void lookup(const IpAddr& a, F&& fn) const {
    if (a.v4) {
      uint32_t v = a.v4_value();
      for (const auto& level : v4_) {
        uint32_t key = level.bits == 0 ? 0 : (v & (~uint32_t{0} << (32 - level.bits)));
        auto it = level.map.find(key);
        if (it == level.map.end()) continue;
        if (!postings_.visit(it->second, fn)) return;
      }
      return;
    }
    for (const auto& level : v6_) {
      V6Key key = v6_key(a, level.bits);
      auto it = level.map.find(key);
      if (it == level.map.end()) continue;
      if (!postings_.visit(it->second, fn)) return;
    }
  }

 private:
  struct V6Key {
    uint64_t hi = 0, lo = 0;
    bool operator==(const V6Key&) const = default;
  };
  struct V6Hash {
    size_t operator()(const V6Key& k) const noexcept { return std::hash<uint64_t>{}(k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo); }
  };
  static V6Key v6_key(const IpAddr& a, int bits);
  struct V4Level {
    int bits;
    std::unordered_map<uint32_t, uint32_t> map;
  };
  struct V6Level {
    int bits;
    std::unordered_map<V6Key, uint32_t, V6Hash> map;
  };
  std::vector<V4Level> v4_;  // longest prefix first
  std::vector<V6Level> v6_;
  Postings postings_;
  size_t count_ = 0;
};

}  // namespace tb::route
