// sb-relay's plan-line reader: one line of `sb-route plan` output → a plan, nothing, or an error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/net/plan.hpp"

using namespace tb::net;

namespace {
const std::string kSource =
    R"({"inbounds":[{"type":"mixed","tag":"mixed-in","listen":"127.0.0.1","listen_port":1080}],)"
    R"("outbounds":[{"type":"direct","tag":"direct"}],"route":{"final":"direct"}})";
}  // namespace

TEST(PlanLine, IgnoresBlankLinesAndOtherRecords) {
  for (std::string line : {"", "  \t\r", R"({"v":1,"type":"status"})", R"({"v":1,"type":"event"})", R"({"v":1})"}) {
    auto p = plan_from_line(line);
    ASSERT_TRUE(p) << line;
    EXPECT_FALSE(*p) << line;
  }
}

TEST(PlanLine, RefusesWhatIsNotAPlan) {
  const std::vector<std::string> lines{"not json", "[1,2]", "42", R"({"v":1,"type":"plan"})",
                                      R"({"v":2,"type":"plan","source":{}})", std::string(600, '[') + std::string(600, ']')};
  for (const auto& line : lines) {
    auto p = plan_from_line(line);
    ASSERT_FALSE(p) << line;
    EXPECT_EQ(p.error().code, tb::core::ExitCode::kDataErr) << line;
    EXPECT_FALSE(p.error().message.empty());
  }
}

TEST(PlanLine, ReadsAPlan) {
  auto p = plan_from_line(R"({"v":1,"type":"plan","generation":7,"source":)" + kSource + "}");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(*p);
  const Plan& plan = ***p;
  EXPECT_EQ(plan.generation, 7u);
  ASSERT_EQ(plan.inbounds.size(), 1u);
  EXPECT_EQ(plan.inbounds[0].tag, "mixed-in");
  EXPECT_NE(plan.outbound("direct"), nullptr);
  EXPECT_NE(plan.router, nullptr);
}
