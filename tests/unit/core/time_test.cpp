#include "libcommon/core/time.hpp"

#include <gtest/gtest.h>

namespace tb::core {
namespace {

TEST(Rfc3339, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2026-03-11T02:27:24.190577438Z"), 1773196044);
  // A local offset is the same instant: 10:43:48+02:00 == 08:43:48Z.
  EXPECT_EQ(parse_rfc3339("2026-07-31T10:43:48.867301608+02:00"), parse_rfc3339("2026-07-31T08:43:48Z"));
  EXPECT_EQ(parse_rfc3339("2026-07-31T05:43:48-03:00"), parse_rfc3339("2026-07-31T08:43:48Z"));
  EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.1Z"), parse_rfc3339("2026-01-02T03:04:05Z"));
}

TEST(Rfc3339, ZeroTimeAndGarbageAreNever) {
  EXPECT_FALSE(parse_rfc3339("0001-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339(""));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-01-01T00:00:00"));        // no zone
  EXPECT_FALSE(parse_rfc3339("2026-01-01T00:00:00Zjunk"));
  EXPECT_FALSE(parse_rfc3339("2026-01-01T00:00:00.Z"));
}

TEST(Rfc3339, FormatsUtc) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1773196044), "2026-03-11T02:27:24Z");
}

TEST(Duration, Parses) {
  EXPECT_EQ(parse_duration("500ms")->count(), 500);
  EXPECT_EQ(parse_duration("30s")->count(), 30000);
  EXPECT_EQ(parse_duration("2m")->count(), 120000);
  EXPECT_EQ(parse_duration("1h30m")->count(), 5400000);
  EXPECT_EQ(parse_duration("7d")->count(), 7 * 86400000LL);
  EXPECT_EQ(parse_duration("10")->count(), 10000);
  EXPECT_EQ(parse_duration("1.5s")->count(), 1500);
}

TEST(Duration, RejectsGarbageAsUsage) {
  for (const char* bad : {"", "s", "10x", "-5s", "1s2", "abc", "1e99d"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code, ExitCode::kUsage);
  }
}

TEST(Duration, FormatsTwoUnits) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(12), "12s");
  EXPECT_EQ(format_duration(3600 * 26 + 5), "1d2h");
  EXPECT_EQ(format_duration(3600 * 24), "1d");
  EXPECT_EQ(format_duration(125), "2m5s");
}

TEST(GoDuration, ParsesLikeGoPlusDays) {
  EXPECT_EQ(parse_go_duration("0"), 0.0);
  EXPECT_EQ(parse_go_duration("300ms"), 0.3);
  EXPECT_EQ(parse_go_duration("1.5h"), 5400.0);
  EXPECT_EQ(parse_go_duration("1h30m"), 5400.0);
  EXPECT_EQ(parse_go_duration("-2m"), -120.0);
  EXPECT_EQ(parse_go_duration("+2s"), 2.0);
  EXPECT_EQ(parse_go_duration("1d"), 86400.0);
  EXPECT_DOUBLE_EQ(*parse_go_duration("10us"), 1e-5);
  EXPECT_DOUBLE_EQ(*parse_go_duration("10\u00b5s"), 1e-5);
  EXPECT_DOUBLE_EQ(*parse_go_duration("5ns"), 5e-9);
  for (const char* bad : {"", "10", "5x", "-", "1s2", "s", ".s5", "1e3s", "00"})
    EXPECT_FALSE(parse_go_duration(bad)) << bad;
}

TEST(Duration, FlagsTakeGoUnitsButNoSign) {
  EXPECT_EQ(parse_duration("1m30s")->count(), 90000);
  EXPECT_EQ(parse_duration("0")->count(), 0);
  EXPECT_FALSE(parse_duration("+5s"));
}

TEST(Duration, FormatsMilliseconds) {
  using std::chrono::milliseconds;
  EXPECT_EQ(format_duration(milliseconds(5000)), "5s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(1050)), "1.05s");
  EXPECT_EQ(format_duration(milliseconds(90000)), "90s");
}

}  // namespace
}  // namespace tb::core
