#include "libcommon/core/strings.hpp"

#include <gtest/gtest.h>

namespace {

using namespace tb::core;

TEST(Strings, LowerIsAsciiOnly) {
  EXPECT_EQ(lower("Peer.TAIL1AB.ts.net"), "peer.tail1ab.ts.net");
  EXPECT_EQ(lower("\xC3\x84Z"), "\xC3\x84z");  // UTF-8 bytes untouched
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Host", "Hos"));
  EXPECT_FALSE(iequals("Host", "Hosx"));
}

TEST(Strings, Trim) {
  EXPECT_EQ(trim("  a b\r\n"), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\t v \r", " \t"), "v \r");
}

TEST(Strings, JsonQuoteMatchesNlohmann) {
  for (std::string s : {"", "plain", "quo\"te", "back\\slash", "nl\n", "\x01", "caf\xC3\xA9", "\x7f"})
    EXPECT_EQ(json_quote(s), Json(s).dump()) << s;
  EXPECT_EQ(json_quote("bad\xFF"), "\"bad\xEF\xBF\xBD\"");  // never throws
}

}  // namespace
