#pragma once
// Finding the end of a chunked request body (RFC 9112 §7.1) while it streams through, so sb-relay
// forwards it byte for byte and knows where the next request on the connection starts. Pure: no
// I/O, no allocation beyond its error text. Bounded: at most 16 hex digits per size, 4 KiB of
// extensions per chunk line and 16 KiB of trailers.

#include <cstddef>
#include <cstdint>
#include <string>

#include "libcommon/net/bytes.hpp"

namespace tb::net::http {

class ChunkedScanner {
 public:
  enum class Status { kMore, kDone, kBad };

  // Consumes bytes from the start of `in` up to the end of the body at most; returns how many
  // belong to the body (all of `in` while the status stays kMore).
  size_t feed(Bytes in);
  Status status() const { return status_; }
  const std::string& error() const { return error_; }

 private:
  enum class State { kSize, kExt, kSizeLf, kData, kDataCr, kDataLf, kTrailerStart, kTrailerLine, kFinalLf };
  void bad(const char* why);
  State state_ = State::kSize;
  Status status_ = Status::kMore;
  std::string error_;
  uint64_t remaining_ = 0;
  int digits_ = 0;
  size_t line_ = 0;      // bytes of the current chunk-size line's extensions
  size_t trailers_ = 0;  // bytes of trailers so far
};

}  // namespace tb::net::http
