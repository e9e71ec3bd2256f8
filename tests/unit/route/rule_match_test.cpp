// Rule matching (rule_match.cpp): rule-sets and logical rules as sing-box v1.13.19 evaluates them,
// with match states (route/rule/match_state.go). Each case is one the differential test found
// (tests/fixtures/singbox/diff/rule-set-*.json), with sing-box's answer.

#include <gtest/gtest.h>

#include <string>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/router.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

// The outbound sing-box chose for host:port from src:src_port under route (outbounds a, b, c, d).
std::string decide(const char* route, const char* host, uint16_t port, const char* src = "127.0.0.1",
                   uint16_t src_port = 40000) {
  Json cfg = Json::parse(R"({"outbounds":[{"type":"direct","tag":"a"},{"type":"direct","tag":"b"},
    {"type":"direct","tag":"c"},{"type":"direct","tag":"d"}]})");
  cfg["route"] = Json::parse(route);
  auto c = compile_config(cfg);
  EXPECT_TRUE(c->ok()) << route;
  Router router(c);
  Request q;
  q.destination_host = host;
  q.destination_port = port;
  q.source_ip = IpAddr::parse(src);
  q.source_port = src_port;
  Decision d = router.decide(q);
  return d.action == ActionType::kReject ? "reject" : d.outbound;
}

TEST(RuleMatch, SameSetFailedBranchDoesNotLeak) {
  const char* route = R"({"rules":[{"rule_set":"rs","outbound":"b"}],"final":"a",
    "rule_set":[{"tag":"rs","rules":[{"domain_suffix":"a.test","port":80},{"domain_suffix":"b.test"}]}]})";
  EXPECT_EQ(decide(route, "a.test", 443), "a");
  EXPECT_EQ(decide(route, "a.test", 80), "b");
  EXPECT_EQ(decide(route, "b.test", 443), "b");
}

TEST(RuleMatch, FailedInvertedBranchGivesOnlyTheBase) {
  const char* route = R"({"rules":[{"ip_cidr":"1.2.3.4/32","rule_set":"rs","outbound":"c"}],"final":"d",
    "rule_set":[{"tag":"rs","rules":[{"domain_regex":"ample","invert":true,"source_ip_cidr":"127.0.0.0/30"}]}]})";
  EXPECT_EQ(decide(route, "example.com.cn", 2000, "127.0.0.5"), "d");
}

TEST(RuleMatch, LogicalRuleInASetKeepsTheOuterState) {
  const char* route = R"({"rules":[{"port":1,"rule_set":"rs","outbound":"b"}],"final":"d",
    "rule_set":[{"tag":"rs","rules":[{"type":"logical","mode":"or","rules":[{"network":"tcp"}]}]}]})";
  EXPECT_EQ(decide(route, "10.0.0.1", 1), "b");
  EXPECT_EQ(decide(route, "10.0.0.1", 2), "d");
}

TEST(RuleMatch, InvertedOuterRuleNegatesTheWhole) {
  const char* route = R"({"rules":[{"invert":true,"source_ip_cidr":"127.0.0.8/29","rule_set":"rs","outbound":"a"}],
    "final":"b","rule_set":[{"tag":"rs","rules":[{"type":"logical","mode":"or","rules":[{"domain_regex":"\\.net$"}]}]}]})";
  EXPECT_EQ(decide(route, "mytest.net", 1025, "127.0.0.9"), "b");
  EXPECT_EQ(decide(route, "mytest.org", 1025, "127.0.0.9"), "a");
}

TEST(RuleMatch, BaseStateSatisfiesABranch) {
  const char* route = R"({"rules":[{"type":"logical","mode":"and","rules":[{"rule_set":"rs","source_port":20106}],
    "action":"reject"}],"rule_set":[{"tag":"rs","rules":[{"type":"logical","mode":"or","rules":[{"ip_cidr":"8.8.8.0/24"}]},
    {"source_port":20109}]}]})";
  EXPECT_EQ(decide(route, "8.8.4.4", 1, "127.0.0.1", 20106), "reject");
  EXPECT_EQ(decide(route, "8.8.4.4", 1, "127.0.0.1", 20107), "a");
}

TEST(RuleMatch, MatchSourceCountsForTheSourceGroup) {
  // With rule_set_ip_cidr_match_source the set's ip_cidr tests the source and fills the source group.
  const char* route = R"({"rules":[{"source_ip_cidr":"10.0.0.0/8","rule_set":"rs","rule_set_ip_cidr_match_source":true,
    "outbound":"b"}],"final":"a","rule_set":[{"tag":"rs","rules":[{"ip_cidr":"127.0.0.0/8"}]}]})";
  EXPECT_EQ(decide(route, "x.test", 80, "127.0.0.1"), "b");
  EXPECT_EQ(decide(route, "x.test", 80, "192.168.0.1"), "a");
}

}  // namespace
}  // namespace tb::route
