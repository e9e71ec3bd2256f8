#pragma once
// Byte spans for the pure codecs: parsers take what has been read so far and say "need more",
// "bad" (with a reason) or "done" (with how many bytes the message used).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tb::net {

using Bytes = std::span<const uint8_t>;
using Buffer = std::vector<uint8_t>;

enum class ParseStatus { kNeedMore, kBad, kDone };

template <typename T>
struct Parsed {
  ParseStatus status = ParseStatus::kNeedMore;
  T value{};
  size_t used = 0;      // bytes consumed when kDone
  std::string error;    // reason when kBad
  static Parsed need_more() { return {}; }
  static Parsed bad(std::string why) {
    Parsed p;
    p.status = ParseStatus::kBad;
    p.error = std::move(why);
    return p;
  }
  static Parsed done(T v, size_t n) {
    Parsed p;
    p.status = ParseStatus::kDone;
    p.value = std::move(v);
    p.used = n;
    return p;
  }
  bool ok() const { return status == ParseStatus::kDone; }
};

}  // namespace tb::net
