#include <gtest/gtest.h>

#include <string>

#include "libcommon/net/http_chunked.hpp"

namespace tb::net::http {
namespace {

using S = ChunkedScanner::Status;

Bytes bytes(const std::string& s) { return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// Feeds `in` split at `cut`; returns (bytes taken, status).
std::pair<size_t, S> scan_split(const std::string& in, size_t cut) {
  ChunkedScanner sc;
  size_t used = sc.feed(bytes(in.substr(0, cut)));
  if (sc.status() == S::kMore) used += sc.feed(bytes(in.substr(cut)));
  return {used, sc.status()};
}

TEST(Chunked, FindsTheEndAtEverySplit) {
  const std::string body = "5;ext=1\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\nX-T: y\r\nZ: w\r\n\r\n";
  const std::string next = "GET / HTTP/1.1\r\n\r\n";
  for (size_t cut = 0; cut <= body.size() + next.size(); ++cut) {
    auto [used, st] = scan_split(body + next, cut);
    EXPECT_EQ(st, S::kDone) << cut;
    EXPECT_EQ(used, body.size()) << cut;
  }
}

TEST(Chunked, ByteByByte) {
  const std::string body = "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
  ChunkedScanner sc;
  size_t used = 0;
  for (char c : body + "tail") {
    if (sc.status() != S::kMore) break;
    used += sc.feed(bytes(std::string(1, c)));
  }
  EXPECT_EQ(sc.status(), S::kDone);
  EXPECT_EQ(used, body.size());
}

TEST(Chunked, IncompleteStaysMore) {
  ChunkedScanner sc;
  EXPECT_EQ(sc.feed(bytes("ff\r\nabc")), 7u);
  EXPECT_EQ(sc.status(), S::kMore);
}

TEST(Chunked, Malformed) {
  for (const std::string bad : {"zz\r\n", "\r\n", "5\nhello", "5\r\nhelloX\r\n", "5\r\nhello\rX", "0\r\n\rX",
                                 "11111111111111111\r\n", "5;a\nb\r\n"}) {
    ChunkedScanner sc;
    sc.feed(bytes(bad));
    EXPECT_EQ(sc.status(), S::kBad) << bad;
    EXPECT_FALSE(sc.error().empty());
  }
}

TEST(Chunked, BoundedExtensionsAndTrailers) {
  ChunkedScanner a;
  a.feed(bytes("1;" + std::string(5000, 'x')));
  EXPECT_EQ(a.status(), S::kBad);
  ChunkedScanner b;
  b.feed(bytes("0\r\n" + std::string(20000, 'x')));
  EXPECT_EQ(b.status(), S::kBad);
}

TEST(Chunked, LargeSizeSkipsWithoutLooking) {
  ChunkedScanner sc;
  std::string data(70000, '\n');  // chunk data may hold anything, CR and LF included
  EXPECT_EQ(sc.feed(bytes("11170\r\n" + data)), 7u + data.size());
  EXPECT_EQ(sc.status(), S::kMore);
  EXPECT_EQ(sc.feed(bytes("\r\n0\r\n\r\n")), 7u);
  EXPECT_EQ(sc.status(), S::kDone);
}

}  // namespace
}  // namespace tb::net::http
