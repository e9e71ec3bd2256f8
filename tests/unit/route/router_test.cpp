// The router (router.hpp): the index never changes a decision, the endpoint self-address rewrite,
// and process rules.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/router.hpp"
#include "libcommon/route/tailnet.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

// The index must never change a decision: compare with a router whose rules are all unindexable
// (each rule wrapped so the index cannot take it) on random configs and requests.
TEST(Router, IndexAgreesWithScan) {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* hosts[] = {"a.test", "b.a.test", "c.test", "x.c.test", "10.0.0.1", "10.1.0.1", "192.168.1.1", "fd7a::1",
                         "B.A.Test.", ".c.test", "[fd7a::1]", "::ffff:10.0.0.2"};
  for (int round = 0; round < 50; ++round) {
    Json rules = Json::array(), wrapped = Json::array();
    for (int i = 0; i < 20; ++i) {
      Json r;
      switch (pick(5)) {
        case 0: r["domain"] = hosts[pick(4)]; break;
        case 1: r["domain_suffix"] = std::string(pick(2) ? "." : "") + (pick(2) ? "a.test" : "c.test"); break;
        case 2: r["ip_cidr"] = pick(2) ? "10.0.0.0/8" : "fd7a::/16"; break;
        case 3: r["domain_suffix"] = "test"; r["port"] = 443; break;
        default: r["ip_is_private"] = true; break;
      }
      if (pick(4) == 0) r["network"] = "udp";
      if (pick(6) == 0) r = Json{{"action", "route-options"}, {"override_port", 443}};
      Json w = r;
      std::string tag = "o";
      tag.push_back(static_cast<char>('0' + i % 3));
      r["outbound"] = tag;
      w["invert"] = true;  // !(!(x)) through a logical rule keeps the meaning but defeats the index
      wrapped.push_back({{"type", "logical"}, {"mode", "and"}, {"rules", Json::array({Json{{"type", "logical"}, {"mode", "or"}, {"rules", Json::array({w})}, {"invert", true}}})}});
      if (r.contains("action")) {
        wrapped.back() = r;  // no conditions: never indexed anyway (and an empty inverted rule matches all)
      } else {
        wrapped.back()["outbound"] = r["outbound"];
      }
      rules.push_back(r);
    }
    Json outs = Json::array({{{"type", "direct"}, {"tag", "o0"}}, {{"type", "direct"}, {"tag", "o1"}}, {{"type", "direct"}, {"tag", "o2"}}});
    auto c1 = compile_config({{"outbounds", outs}, {"route", {{"rules", rules}}}});
    auto c2 = compile_config({{"outbounds", outs}, {"route", {{"rules", wrapped}}}});
    ASSERT_TRUE(c1->ok() && c2->ok()) << rules.dump();
    Router r1(c1), r2(c2);
    EXPECT_LT(r1.unindexed_rules(), r2.unindexed_rules());
    for (const char* h : hosts) {
      for (uint16_t port : {80, 443}) {
        Request q;
        q.destination_host = h;
        q.destination_port = port;
        q.network = pick(2) ? "tcp" : "udp";
        Decision a = r1.decide(q), b = r2.decide(q);
        EXPECT_EQ(a.rule_index, b.rule_index) << h << ":" << port << " " << rules.dump();
        EXPECT_EQ(a.outbound, b.outbound);
      }
    }
  }
}

TEST(Router, EndpointSelfAddressGoesToLoopback) {
  auto cfg = compile_config(Json::parse(R"({"endpoints":[{"type":"tailscale","tag":"ts-ep"}],
    "outbounds":[{"type":"direct","tag":"direct"},{"type":"block","tag":"b"}],
    "route":{"rules":[{"ip_cidr":"127.0.0.0/8","outbound":"direct"}],"final":"b"}})"));
  ASSERT_TRUE(cfg->ok());
  auto t = tailnet_from_status(Json::parse(tb::test::read_fixture("route/status-running.jsonl")));
  Router router(cfg, *t);
  Request q;
  q.inbound = "ts-ep";
  q.destination_host = "100.101.1.1";
  q.destination_port = 8080;
  Decision d = router.decide(q);
  EXPECT_EQ(d.outbound, "direct");
  EXPECT_EQ(d.destination, "127.0.0.1");
  q.inbound = "mixed-in";
  EXPECT_EQ(router.decide(q).outbound, "b");
}

class OneName : public Resolver {
 public:
  mutable std::vector<std::string> asked;
  std::optional<std::vector<IpAddr>> lookup(const std::string& name) const override {
    asked.push_back(name);
    if (name != "c.test") return std::nullopt;
    return std::vector<IpAddr>{ip("10.0.0.1")};
  }
};

// sing-box matches the destination name as the client sent it, trailing dot included (found by
// tests/singbox/difftest; tests/fixtures/singbox/diff/trailing-dot.json). A resolve still asks
// for the name without it.
TEST(Router, TrailingDotIsPartOfTheName) {
  auto cfg = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"},{"type":"direct","tag":"x"},
    {"type":"direct","tag":"y"}],"route":{"rules":[{"domain":"a.test.","outbound":"x"},
    {"domain_suffix":"test","outbound":"y"},{"action":"resolve"},{"ip_cidr":"10.0.0.0/8","outbound":"x"}]}})"));
  ASSERT_TRUE(cfg->ok());
  Router router(cfg);
  OneName dns;
  router.set_resolver(&dns);
  Request q;
  q.destination_port = 80;
  for (auto [host, out] : {std::pair{"a.test.", "x"}, {"a.test", "y"}, {"c.test.", "x"}, {"c.test", "y"}}) {
    q.destination_host = host;
    Decision d = router.decide(q);
    EXPECT_EQ(d.outbound, out) << host;
    EXPECT_EQ(d.destination, host);
  }
  EXPECT_EQ(dns.asked, std::vector<std::string>{"c.test"});
}

// ip_version is the original destination's (sing-box sets it before its match loop) or the current
// one's: after an override both may match (tests/fixtures/singbox/diff/ip-version-override.json).
TEST(Router, IpVersionKeepsTheOriginalDestinations) {
  auto cfg = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"},{"type":"direct","tag":"v4"},
    {"type":"direct","tag":"v6"}],"route":{"rules":[{"action":"route-options","override_address":"2001:db8::1"},
    {"ip_version":4,"outbound":"v4"},{"ip_version":6,"outbound":"v6"}]}})"));
  ASSERT_TRUE(cfg->ok());
  Router router(cfg);
  Request q;
  q.destination_port = 80;
  for (auto [host, out] : {std::pair{"1.1.1.1", "v4"}, {"example.com", "v6"}, {"2001:db8::5", "v6"}}) {
    q.destination_host = host;
    EXPECT_EQ(router.decide(q).outbound, out) << host;
  }
}

class FakeOwner : public ProcessSearcher {
 public:
  mutable int calls = 0;
  std::optional<ProcessInfo> find(const std::string&, const IpAddr&, uint16_t, const std::optional<IpAddr>&,
                                   uint16_t) const override {
    ++calls;
    return ProcessInfo{"curl", "/usr/bin/curl", "alice", 1000};
  }
};

TEST(Router, ProcessRulesAskTheSearcherOnce) {
  auto cfg = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"},{"type":"block","tag":"b"}],
    "route":{"rules":[{"user":"bob","outbound":"b"},{"user_id":1000,"process_path":"/usr/bin/curl","outbound":"b"}],"final":"d"}})"));
  ASSERT_TRUE(cfg->ok());
  Router router(cfg);
  FakeOwner owner;
  router.set_process_searcher(&owner);
  Request q;
  q.source_ip = ip("127.0.0.1");
  q.source_port = 40000;
  q.destination_host = "x.test";
  q.destination_port = 80;
  Decision d = router.decide(q, Router::Options{.matched_items = true});
  EXPECT_EQ(d.rule_index, 1u);
  EXPECT_EQ(owner.calls, 1);
  EXPECT_EQ(d.matched_items, (std::vector<MatchedItem>{{"process_path", "\"/usr/bin/curl\""}, {"user_id", "1000"}}));
}

}  // namespace
}  // namespace tb::route
