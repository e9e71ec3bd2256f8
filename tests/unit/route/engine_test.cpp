// Config compiling (config.hpp): every error with its JSON path, the default outbound, traps.
// (To join config_test.cpp.)

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

TEST(Config, EveryErrorWithItsPath) {
  auto c = compile_config(Json::parse(R"({
    "inbounds": [{"type": "tun", "tag": "t"}, {"type": "mixed", "listen_port": "x"}],
    "outbounds": [{"type": "vless", "tag": "v"}, {"type": "direct", "tag": "d"}],
    "route": {"rules": [{"domain": "a", "outbound": "d"}, {"port": [80, "x"], "outbound": "d"}, {"domain_regex": "(", "outbound": "d"}]}
  })"));
  EXPECT_FALSE(c->ok());
  std::vector<std::string> paths;
  for (const auto& d : c->diagnostics)
    if (d.severity == Severity::kError) paths.push_back(d.path);
  for (const char* want : {"inbounds[0]", "inbounds[1].listen_port", "outbounds[0]", "route.rules[1].port[1]",
                           "route.rules[2].domain_regex"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), want), paths.end()) << want;
  EXPECT_EQ(c->rules.size(), 1u);  // the valid rule is still compiled
}

TEST(Config, DefaultOutbound) {
  EXPECT_EQ(compile_config(Json::object())->final_outbound, "direct");
  EXPECT_EQ(compile_config(Json::object())->final_from, "implicit_direct");
  auto c = compile_config(Json::parse(R"({"endpoints":[{"type":"tailscale","tag":"ts"}],"outbounds":[{"type":"block"},{"type":"direct","tag":"d"}]})"));
  EXPECT_EQ(c->final_outbound, "0");  // untagged outbound: its index; endpoints never default
}

TEST(Config, Traps) {
  auto c = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"}],
    "route":{"rules":[{"outbound":"d"},{"ip_is_private":true,"outbound":"d"}]}})"));
  ASSERT_TRUE(c->ok());
  bool unreachable = false, cgnat = false;
  for (const auto& d : c->diagnostics) {
    unreachable = unreachable || (d.kind == "trap" && d.path == "route.rules[1]");
    cgnat = cgnat || (d.kind == "trap" && d.message.find("100.64.0.0/10") != std::string::npos);
  }
  EXPECT_TRUE(unreachable);
  EXPECT_TRUE(cgnat);
}

}  // namespace
}  // namespace tb::route
