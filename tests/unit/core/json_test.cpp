#include "libcommon/core/json.hpp"

#include <gtest/gtest.h>

namespace tb::core {
namespace {

TEST(Json, ParseErrorCarriesCodeAndPosition) {
  auto r = parse_json("{\"a\": }", ExitCode::kProtocol, "status");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kProtocol);
  EXPECT_NE(r.error().message.find("status: "), std::string::npos);
  EXPECT_NE(r.error().message.find("line 1"), std::string::npos);
}

TEST(Json, GettersTolerateNullMissingAndWrongTypes) {
  Json j = Json::parse(R"({"s": null, "b": "yes", "l": null, "n": "42", "big": 38520981566058213, "arr": [1, "x"]})");
  EXPECT_EQ(get_string(j, "s", "def"), "def");
  EXPECT_EQ(get_string(j, "missing"), "");
  EXPECT_FALSE(get_bool(j, "b"));
  EXPECT_TRUE(get_strings(j, "l").empty());
  EXPECT_EQ(get_int(j, "n"), 42);
  // Above 2^53: exact, never rounded through a double.
  EXPECT_EQ(get_int(j, "big"), 38520981566058213LL);
  EXPECT_EQ(get_strings(j, "arr"), std::vector<std::string>{"x"});
  EXPECT_EQ(get_object(j, "s"), nullptr);
  EXPECT_EQ(get_string(Json::array(), "x", "d"), "d");
}

TEST(Json, DumpLineIsOneLineAndSurvivesBadUtf8) {
  Json j;
  j["v"] = 1;
  j["s"] = std::string("a\nb\xff");
  std::string line = dump_line(j);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"v\":1,", 0), 0u);  // insertion order kept
}

TEST(Json, NestingIsBoundedBeforeParsing) {
  auto nest = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_FALSE(nests_deeper_than(nest(kMaxJsonDepth)));
  EXPECT_TRUE(nests_deeper_than(nest(kMaxJsonDepth + 1)));
  // Brackets inside strings, escaped quotes included, do not count.
  std::string quoted = "[\"\\\"" + std::string(kMaxJsonDepth + 1, '{') + "\"]";
  EXPECT_FALSE(nests_deeper_than(quoted));
  EXPECT_FALSE(parse_or_discarded(quoted).is_discarded());

  // 100,000 levels: refused, never built (a copy or dump of it would overflow the stack).
  std::string deep = "{\"a\":" + nest(100000) + "}";
  EXPECT_TRUE(parse_or_discarded(deep).is_discarded());
  auto r = parse_json(deep, ExitCode::kProtocol, "status: tailscaled sent invalid JSON");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kProtocol);
  EXPECT_EQ(r.error().message, "status: tailscaled sent invalid JSON: nested deeper than 512 levels");
  EXPECT_TRUE(parse_json(nest(kMaxJsonDepth), ExitCode::kProtocol, "x"));
}

}  // namespace
}  // namespace tb::core
