// The flat domain and prefix indexes (index.hpp): sing-box's suffix rules, longest prefix, and
// agreement with a plain scan.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "libcommon/route/index.hpp"

namespace tb::route {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(DomainIndex, LabelBoundariesAndLeadingDot) {
  DomainIndex idx;
  idx.add_exact("example.com", 0);
  idx.add_suffix("le.com", 1);
  idx.add_suffix(".sub.org", 2);
  auto hits = [&](const char* host) {
    std::vector<uint32_t> out;
    idx.lookup(host, [&](uint32_t id) {
      out.push_back(id);
      return true;
    });
    return out;
  };
  EXPECT_EQ(hits("example.com"), std::vector<uint32_t>{0});
  EXPECT_TRUE(hits("google.com").empty());
  EXPECT_EQ(hits("le.com"), std::vector<uint32_t>{1});
  EXPECT_EQ(hits("a.b.le.com"), std::vector<uint32_t>{1});
  EXPECT_TRUE(hits("sub.org").empty());
  EXPECT_EQ(hits("x.sub.org"), std::vector<uint32_t>{2});
}

TEST(PrefixIndex, LongestAndShortest) {
  PrefixIndex idx;
  idx.add(*Prefix::parse("0.0.0.0/0"), 0);
  idx.add(*Prefix::parse("10.0.0.0/8"), 1);
  idx.add(*Prefix::parse("10.1.2.3/32"), 2);
  idx.add(*Prefix::parse("fd7a:115c:a1e0::/48"), 3);
  std::vector<uint32_t> out;
  idx.lookup(ip("10.1.2.3"), [&](uint32_t id) {
    out.push_back(id);
    return true;
  });
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<uint32_t>{0, 1, 2}));
  out.clear();
  idx.lookup(ip("fd7a:115c:a1e0:ab::1"), [&](uint32_t id) {
    out.push_back(id);
    return true;
  });
  EXPECT_EQ(out, std::vector<uint32_t>{3});
}

// The flat indexes against a plain scan: random values (enough to rehash the tables several
// times), label edge cases (empty labels, a lone dot, trailing dots), every prefix length.
TEST(DomainIndex, AgreesWithScan) {
  std::mt19937 rng(11);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const char* labels[] = {"a", "b", "test", "com", "x-y", "", "Ab", "example"};
  auto name = [&](size_t max_labels) {
    std::string s;
    size_t n = 1 + pick(max_labels);
    for (size_t i = 0; i < n; ++i) {
      if (i) s.push_back('.');
      s.append(labels[pick(8)]);
    }
    return s;
  };
  auto suffix_matches = [](std::string_view host, std::string_view value) {
    if (!value.empty() && value[0] == '.') return host.size() > value.size() && host.ends_with(value);
    if (host.size() == value.size()) return host == value;
    return host.size() > value.size() && host.ends_with(value) && host[host.size() - value.size() - 1] == '.';
  };
  for (int round = 0; round < 20; ++round) {
    DomainIndex idx;
    std::vector<std::pair<bool, std::string>> values;  // exact?, value
    size_t n = round < 10 ? 5 + pick(20) : 200 + pick(2000);
    for (size_t i = 0; i < n; ++i) {
      bool exact = pick(2) == 0;
      std::string v = pick(10) == 0 ? std::string(".") : name(3);
      if (v != "." && pick(3) == 0) v.insert(v.begin(), '.');
      if (exact && v[0] == '.') v.erase(0, 1);
      if (v.empty()) v = "a";
      values.emplace_back(exact, v);
      if (exact) idx.add_exact(v, static_cast<uint32_t>(i));
      else idx.add_suffix(v, static_cast<uint32_t>(i));
    }
    for (int q = 0; q < 300; ++q) {
      std::string host = name(5);
      if (pick(8) == 0) host.push_back('.');
      if (pick(16) == 0) host.insert(host.begin(), '.');
      std::vector<uint32_t> got, want;
      idx.lookup(host, [&](uint32_t id) {
        got.push_back(id);
        return true;
      });
      for (size_t i = 0; i < values.size(); ++i)
        if (!host.empty() && (values[i].first ? host == values[i].second : suffix_matches(host, values[i].second)))
          want.push_back(static_cast<uint32_t>(i));
      std::sort(got.begin(), got.end());
      got.erase(std::unique(got.begin(), got.end()), got.end());
      EXPECT_EQ(got, want) << host;
    }
  }
}

TEST(PrefixIndex, AgreesWithScan) {
  std::mt19937 rng(5);
  auto random_addr = [&](bool v4) {
    IpAddr a;
    a.v4 = v4;
    // Few distinct high bytes, so prefixes nest and collide.
    for (int i = 0; i < (v4 ? 4 : 16); ++i) a.bytes[i] = static_cast<uint8_t>(i < 2 ? rng() % 3 : rng());
    return a;
  };
  for (int round = 0; round < 20; ++round) {
    PrefixIndex idx;
    std::vector<Prefix> prefixes;
    size_t n = round < 10 ? 5 + rng() % 20 : 500 + rng() % 3000;
    for (size_t i = 0; i < n; ++i) {
      bool v4 = rng() % 3 != 0;
      int bits = static_cast<int>(rng() % (v4 ? 33 : 129));
      if (rng() % 2) bits = v4 ? 8 + static_cast<int>(rng() % 17) : 16 + static_cast<int>(rng() % 49);
      auto p = Prefix::parse(random_addr(v4).str() + "/" + std::to_string(bits));
      ASSERT_TRUE(p);
      prefixes.push_back(*p);
      idx.add(*p, static_cast<uint32_t>(i));
    }
    for (int q = 0; q < 500; ++q) {
      IpAddr a = q % 4 == 0 ? prefixes[rng() % prefixes.size()].addr : random_addr(rng() % 3 != 0);
      std::vector<uint32_t> got, want;
      idx.lookup(a, [&](uint32_t id) {
        got.push_back(id);
        return true;
      });
      for (size_t i = 0; i < prefixes.size(); ++i)
        if (prefixes[i].contains(a)) want.push_back(static_cast<uint32_t>(i));
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want) << a.str();
    }
  }
}

}  // namespace
}  // namespace tb::route
