// Reading config text (source.hpp): JSON with comments, YAML, limits on nesting and aliases, and
// sing-box's merge of several files.

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "libcommon/core/json.hpp"
#include "libcommon/route/source.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

TEST(Source, CommentsAndTrailingCommas) {
  auto j = parse_config_text("// c\n{\"a\": [1, 2,], # x\n \"b\": \"//not\", /* y */ \"c\": {\"d\": 1,},}\n", "t.json");
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["b"], "//not");
  EXPECT_EQ((*j)["a"].size(), 2u);
}

TEST(Source, ErrorsAreConfigErrors) {
  for (const char* text : {"", "   ", "{", "[1]", "\x01\x02\x00garbage"}) {
    auto j = parse_config_text(std::string_view(text, text[0] == '\x01' ? 10 : std::strlen(text)), "t.json");
    ASSERT_FALSE(j) << text;
    EXPECT_EQ(j.error().code, tb::core::ExitCode::kConfig);
    EXPECT_EQ(j.error().message.find('\n'), std::string::npos);
  }
}

TEST(Source, YamlTypes) {
  auto j = parse_config_text("route:\n  rules:\n    - port: 443\n      domain: 'true'\n      invert: false\n", "c.yaml");
  ASSERT_TRUE(j) << j.error().message;
  const Json& r = (*j)["route"]["rules"][0];
  EXPECT_TRUE(r["port"].is_number_unsigned());
  EXPECT_TRUE(r["domain"].is_string());
  EXPECT_TRUE(r["invert"].is_boolean());
}

TEST(Source, NestingAndAliasExpansionAreBounded) {
  auto expect_config_error = [](const std::string& text, const char* name, const std::string& says) {
    auto j = parse_config_text(text, name);
    ASSERT_FALSE(j) << name;
    EXPECT_EQ(j.error().code, tb::core::ExitCode::kConfig);
    EXPECT_NE(j.error().message.find(says), std::string::npos) << j.error().message;
  };
  // JSON (and JSONC) nested 100,000 deep: refused before parsing (merge and format recurse).
  expect_config_error("{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}", "c.json",
                      "c.json: json: nested deeper than 512 levels");
  // yaml-cpp's own depth limit, with a message instead of its "bad file".
  expect_config_error("a: " + std::string(100000, '[') + std::string(100000, ']'), "c.yaml", "nested too deeply");
  // "Billion laughs": 9^9 values from 500 bytes of anchors and aliases.
  std::string laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1)), alias = "*" + prev;
    laughs += std::string(1, c) + ": &" + std::string(1, c) + " [" + alias;
    for (int i = 0; i < 8; ++i) laughs += ", " + alias;
    laughs += "]\n";
  }
  expect_config_error(laughs, "c.yaml", "yaml: aliases expand to more than");
  // Aliases used as sing-box users do (one shared list) still work.
  auto ok = parse_config_text("x: &ips [10.0.0.0/8, 100.64.0.0/10]\nroute:\n  rules:\n    - ip_cidr: *ips\n"
                              "      outbound: direct\n    - source_ip_cidr: *ips\n      outbound: direct\n",
                              "c.yaml");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)["route"]["rules"][1]["source_ip_cidr"][1], "100.64.0.0/10");
}

TEST(Source, NumbersPastADouble) {
  // nlohmann throws out_of_range (not parse_error) for 1e999: a bad config, not an uncaught
  // exception (found by the config_json fuzzer: sb-route check aborted).
  auto j = parse_config_text(R"({"route": {"rules": [{"port": 1e999, "outbound": "direct"}]}})", "c.json");
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, tb::core::ExitCode::kConfig);
  EXPECT_NE(j.error().message.find("c.json: number overflow parsing '1e999'"), std::string::npos) << j.error().message;
  // A YAML integer past a double stays a string, never a discarded value that dumps as "<discarded>".
  auto y = parse_config_text("route:\n  rules:\n    - port: " + std::string(400, '9') + "\n      outbound: direct\n", "c.yaml");
  ASSERT_TRUE(y) << y.error().message;
  const Json& port = (*y)["route"]["rules"][0]["port"];
  EXPECT_TRUE(port.is_string());
  EXPECT_EQ(y->dump().find("discarded"), std::string::npos);
  // Within a double (300 digits, with or without '+'), still a number: rejected later as out of a
  // port's range.
  for (const std::string& n : {std::string(300, '9'), "+" + std::string(300, '9')}) {
    auto big = parse_config_text("route:\n  rules:\n    - port: " + n + "\n", "c.yaml");
    ASSERT_TRUE(big) << big.error().message;
    EXPECT_TRUE((*big)["route"]["rules"][0]["port"].is_number_float()) << n.substr(0, 2);
  }
}

TEST(Source, MergeLikeSingBox) {
  Json a = Json::parse(R"({"outbounds":[{"tag":"a"}],"route":{"final":"a"}})");
  Json b = Json::parse(R"({"outbounds":[{"tag":"b"}],"route":{"final":"b","rules":[]}})");
  auto m = merge_json(a, b);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["outbounds"].size(), 2u);
  EXPECT_EQ((*m)["route"]["final"], "a");
  EXPECT_FALSE(merge_json(Json::parse(R"({"route":{}})"), Json::parse(R"({"route":1})")));
}

}  // namespace
}  // namespace tb::route
