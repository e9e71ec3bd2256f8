#include "libcommon/core/json_lines.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace tb::core {
namespace {

TEST(JsonLines, NumbersLinesSkipsBlanksAndHandsBadLinesToThePolicy) {
  std::istringstream in("{\"a\":1}\n\n  \t\r\nnot json\n[1,2]\n" + std::string(600, '[') + "\n{\"b\":2}");
  std::vector<std::string> bad;
  JsonLinesReader reader(in, [&](size_t n, const Error& e) {
    EXPECT_EQ(e.code, ExitCode::kDataErr);
    bad.push_back(std::to_string(n) + ": " + e.message);
  });
  auto first = reader.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->number, 1u);
  EXPECT_EQ(first->value["a"], 1);
  auto second = reader.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->number, 7u);
  EXPECT_EQ(second->value["b"], 2);
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(bad, (std::vector<std::string>{"4: not a JSON object", "5: not a JSON object",
                                           "6: nested deeper than 512 levels"}));
  EXPECT_EQ(reader.bad_lines(), 3u);
  EXPECT_EQ(reader.lines_read(), 7u);
}

TEST(JsonLines, SkipPolicyIsSilent) {
  std::istringstream in("x\n{}\n");
  JsonLinesReader reader(in, skip_bad_line);
  auto line = reader.next();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->number, 2u);
  EXPECT_TRUE(line->value.empty());
}

TEST(JsonLines, ParseJsonLineJudgesOneLine) {
  EXPECT_FALSE(parse_json_line(" \r"));
  EXPECT_TRUE(*parse_json_line("{\"type\":\"plan\"}"));
  EXPECT_EQ(parse_json_line("3")->error().message, "not a JSON object");
}

}  // namespace
}  // namespace tb::core
