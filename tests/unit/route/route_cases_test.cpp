// Every case of tests/fixtures/singbox/route_cases.json (`cases` and `endpoint_cases`), run
// through the library: compile the config, build the Router, decide the connection.

#include <gtest/gtest.h>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/records.hpp"
#include "libcommon/route/router.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

struct Case {
  std::string group;
  Json data;
};

std::vector<Case> load_cases() {
  std::vector<Case> out;
  Json all = Json::parse(tb::test::read_fixture("singbox/route_cases.json"), nullptr, false);
  if (all.is_discarded()) return out;
  for (const char* g : {"cases", "endpoint_cases"})
    for (const auto& c : all[g]) out.push_back({g, c});
  return out;
}

std::string all_lines(const Diagnostics& d) {
  std::string s;
  for (const auto& x : d) s += (x.severity == Severity::kError ? "error: " : "warning: ") + x.line() + "\n";
  return s;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.data.value("id", std::string("?")); }

class RouteCase : public ::testing::TestWithParam<Case> {};

TEST_P(RouteCase, MatchesSingBox) {
  const Json& c = GetParam().data;
  const Json& expect = c["expect"];
  auto config = compile_config(c["config"]);
  if (expect.contains("config_error")) {
    ASSERT_FALSE(config->ok()) << "config should be refused";
    std::string want = expect["config_error"];
    bool found = false;
    for (const auto& d : config->diagnostics)
      found = found || (d.severity == Severity::kError && d.line().find(want) != std::string::npos);
    EXPECT_TRUE(found) << "no error containing '" << want << "' in:\n" << all_lines(config->diagnostics);
    return;
  }
  ASSERT_TRUE(config->ok()) << all_lines(config->diagnostics);
  if (GetParam().group == "endpoint_cases") {
    EXPECT_TRUE(expect.contains("accept") && expect["accept"] == true);
    if (expect.contains("udp_timeout_seconds")) {
      ASSERT_FALSE(config->endpoints.empty());
      EXPECT_DOUBLE_EQ(config->endpoints[0].udp_timeout_seconds, expect["udp_timeout_seconds"].get<double>());
    }
    return;
  }
  Router router(config);
  StaticResolver dns;
  if (c.contains("dns"))
    for (auto it = c["dns"].begin(); it != c["dns"].end(); ++it) {
      std::vector<IpAddr> addrs;
      for (const auto& a : it.value()) addrs.push_back(*IpAddr::parse(a.get<std::string>()));
      dns.add(it.key(), addrs);
    }
  if (c.contains("dns")) router.set_resolver(&dns);
  auto req = request_from_json(c["connection"]);
  ASSERT_TRUE(req) << req.error().message;
  Decision d = router.decide(*req, Router::Options{.matched_items = true});
  if (expect.contains("error")) {
    EXPECT_NE(d.error.find(expect["error"].get<std::string>()), std::string::npos) << "error: " << d.error;
    return;
  }
  EXPECT_EQ(d.error, "");
  if (expect.contains("outbound")) {
    EXPECT_EQ(d.action, ActionType::kRoute);
    EXPECT_EQ(d.outbound, expect["outbound"].get<std::string>());
  }
  if (expect.contains("action")) {
    EXPECT_EQ(action_name(d.action), expect["action"].get<std::string>());
  }
  if (expect.contains("method")) {
    EXPECT_EQ(d.reject_method, expect["method"].get<std::string>());
  }
  if (expect.contains("matched_rule")) {
    if (expect["matched_rule"].is_null()) {
      EXPECT_FALSE(d.rule_index.has_value()) << "matched rule " << *d.rule_index;
    } else {
      ASSERT_TRUE(d.rule_index.has_value()) << "fell through to " << d.outbound;
      EXPECT_EQ(*d.rule_index, expect["matched_rule"].get<size_t>());
      EXPECT_FALSE(d.matched_items.empty() && !config->rules[*d.rule_index].rule.empty)
          << "a matched rule with conditions reports the items that matched";
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string id = "case" + std::to_string(info.index);
  if (info.param.data.contains("id")) id = info.param.data["id"].get<std::string>();
  for (auto& ch : id)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return id;
}

INSTANTIATE_TEST_SUITE_P(RouteCases, RouteCase, ::testing::ValuesIn(load_cases()), case_name);

TEST(RouteCasesFile, HasAllCases) {
  auto cases = load_cases();
  size_t route = 0, endpoint = 0;
  for (const auto& c : cases) (c.group == "cases" ? route : endpoint)++;
  EXPECT_GE(route, 142u);
  EXPECT_GE(endpoint, 11u);
}

}  // namespace
}  // namespace tb::route
