#include "libcommon/core/table.hpp"

#include <gtest/gtest.h>

#include "libcommon/core/error.hpp"
#include "libcommon/core/term.hpp"

namespace tb::core {
namespace {

TEST(Table, AlignsByCodePointsAndIgnoresColour) {
  Table t;
  t.add_row({"100.1.1.1", "Paweł", "x"});
  t.add_row({"100.1.1.22", paint(true, "32", "ab"), "y"});
  EXPECT_EQ(t.render(), "100.1.1.1   Paweł  x\n100.1.1.22  \x1b[32mab\x1b[0m     y\n");
}

TEST(Table, NoTrailingBlanks) {
  Table t;
  t.add_row({"a", ""});
  t.add_row({"bbb", ""});
  EXPECT_EQ(t.render(), "a\nbbb\n");
}

TEST(Term, NoColorWins) {
  setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(use_color(1, ColorMode::kAlways));
  unsetenv("NO_COLOR");
  EXPECT_TRUE(use_color(1, ColorMode::kAlways));
  EXPECT_FALSE(use_color(1, ColorMode::kNever));
}

TEST(Error, LineIsOneLineWithHint) {
  Error e{ExitCode::kUnavailable, "cannot connect\nto x\n", "is tailscaled running?"};
  EXPECT_EQ(e.line(), "cannot connect to x (is tailscaled running?)");
  EXPECT_EQ(exit_code_name(ExitCode::kUnavailable), "daemon_unreachable");
}

}  // namespace
}  // namespace tb::core
