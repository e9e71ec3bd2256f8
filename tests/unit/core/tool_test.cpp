#include "libcommon/core/tool.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "libcommon/core/exit_code.hpp"

namespace tb::core {
namespace {

TEST(Tool, RunGuardedReturnsTheBodysCode) {
  EXPECT_EQ(run_guarded("tool", [] { return 65; }), 65);
}

TEST(Tool, AnEscapedExceptionIsAnInternalError) {
  testing::internal::CaptureStderr();
  int rc = run_guarded("tool", []() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(rc, to_int(ExitCode::kInternal));
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "tool: internal error: boom\n");
}

}  // namespace
}  // namespace tb::core
