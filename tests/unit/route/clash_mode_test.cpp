// clash_mode (sing-box v1.13.19 route/rule/rule_item_clash_mode.go): the Clash API's mode,
// compared ignoring case; experimental.clash_api's default_mode ("Rule" when unset) since tailbox
// serves no Clash API that could change it; without a Clash API no clash_mode item matches.

#include <gtest/gtest.h>

#include <string>

#include "libcommon/route/config.hpp"
#include "libcommon/route/router.hpp"
#include "tests/unit/route/diagnostics.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

std::string lines(const RouteConfig& c, Severity s) { return diagnostic_lines(c, s); }

// The outbound x.test:80 is routed to, with `experimental` as given ("" for none).
std::string route_with(const std::string& experimental, const std::string& mode, bool invert = false) {
  std::string text = R"({"outbounds":[{"type":"direct","tag":"d"},{"type":"direct","tag":"m"}],)";
  if (!experimental.empty()) text += R"("experimental":)" + experimental + ",";
  text += R"("route":{"rules":[{"clash_mode":")" + mode + R"(","invert":)" + (invert ? "true" : "false") +
          R"(,"outbound":"m"}],"final":"d"}})";
  auto c = compile_config(Json::parse(text));
  EXPECT_EQ(lines(*c, Severity::kError), "") << text;
  Request req;
  req.destination_host = "x.test";
  req.destination_port = 80;
  return Router(c).decide(req).outbound;
}

TEST(ClashMode, WithoutAClashApiNothingMatches) {
  EXPECT_EQ(route_with("", "Rule"), "d");
  EXPECT_EQ(route_with("", "Rule", true), "m");  // invert of a miss
  EXPECT_EQ(route_with(R"({"cache_file":{"enabled":true}})", "Rule"), "d");
  EXPECT_EQ(route_with(R"({"clash_api":null})", "Rule"), "d");
}

TEST(ClashMode, TheDefaultModeIsRuleComparedIgnoringCase) {
  EXPECT_EQ(route_with(R"({"clash_api":{}})", "Rule"), "m");
  EXPECT_EQ(route_with(R"({"clash_api":{}})", "rULE"), "m");
  EXPECT_EQ(route_with(R"({"clash_api":{}})", "Global"), "d");
  EXPECT_EQ(route_with(R"({"clash_api":{"default_mode":"Direct"}})", "direct"), "m");
  EXPECT_EQ(route_with(R"({"clash_api":{"default_mode":"Direct"}})", "Rule"), "d");
  EXPECT_EQ(route_with(R"({"clash_api":{"default_mode":""}})", "rule"), "m");
}

TEST(ClashMode, DescribedAndRecordedInConfigSyntax) {
  auto c = compile_config(Json::parse(R"({"experimental":{"clash_api":{"default_mode":"Global"}},
    "outbounds":[{"type":"direct","tag":"d"}],"route":{"rules":[{"clash_mode":"global","outbound":"d"}]}})"));
  Request req;
  req.destination_host = "x.test";
  req.destination_port = 80;
  auto d = Router(c).decide(req, {true});
  EXPECT_EQ(d.rule_index, 0u);
  EXPECT_EQ(d.rule, "clash_mode=global");
  ASSERT_EQ(d.matched_items.size(), 1u);
  EXPECT_EQ(d.matched_items[0].key, "clash_mode");
  EXPECT_EQ(d.matched_items[0].value, "\"global\"");
}

TEST(ClashMode, AStringAlsoInDnsRulesNotInRuleSets) {
  auto c = compile_config(Json::parse(R"({"route":{"rules":[{"clash_mode":["a"],"outbound":"direct"}],
    "rule_set":[{"tag":"s","rules":[{"clash_mode":"a"}]}]},
    "dns":{"servers":[{"type":"local","tag":"l"}],"rules":[{"clash_mode":"Global","server":"l"}]}})"));
  EXPECT_EQ(lines(*c, Severity::kError),
            "route.rule_set[0].rules[0]: json: unknown field \"clash_mode\"\n"
            "route.rules[0].clash_mode: json: cannot unmarshal array into Go value of type string\n");
}

TEST(ClashMode, TheClashApiIsWarnedAboutAndItsRemovedCacheFieldsRefused) {
  auto c = compile_config(Json::parse(R"({"experimental":{"clash_api":{"external_controller":"127.0.0.1:9090",
    "default_mode":"Global"}}})"));
  EXPECT_EQ(lines(*c, Severity::kError), "");
  EXPECT_EQ(lines(*c, Severity::kWarning),
            "experimental.clash_api: the Clash API is not served by tailbox; clash_mode rules match its default_mode "
            "(\"Global\")\n");
  for (const char* f : {R"("store_mode":true)", R"("store_selected":true)", R"("store_fakeip":true)",
                        R"("cache_file":"c.db")", R"("cache_id":"x")"}) {
    auto bad = compile_config(Json::parse(std::string(R"({"experimental":{"clash_api":{)") + f + "}}}"));
    EXPECT_EQ(lines(*bad, Severity::kError),
              "experimental.clash_api: cache_file and related fields in Clash API is deprecated in sing-box 1.8.0, "
              "use experimental.cache_file instead.\n")
        << f;
  }
  auto off = compile_config(Json::parse(R"({"experimental":{"clash_api":{"store_selected":false}}})"));
  EXPECT_EQ(lines(*off, Severity::kError), "");
}

}  // namespace
}  // namespace tb::route
