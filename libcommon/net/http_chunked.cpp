#include "libcommon/net/http_chunked.hpp"

#include <algorithm>

namespace tb::net::http {

namespace {
constexpr size_t kMaxExt = 4096;
constexpr size_t kMaxTrailers = 16384;

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void ChunkedScanner::bad(const char* why) {
  status_ = Status::kBad;
  error_ = why;
}

size_t ChunkedScanner::feed(Bytes in) {
  size_t i = 0;
  while (i < in.size() && status_ == Status::kMore) {
    if (state_ == State::kData) {  // the bulk: skip the chunk's bytes without looking at them
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
      i += take;
      remaining_ -= take;
      if (remaining_ == 0) state_ = State::kDataCr;
      continue;
    }
    uint8_t c = in[i++];
    switch (state_) {
      case State::kSize:
        if (int v = hex_value(c); v >= 0) {
          if (++digits_ > 16) return bad("chunk size too large"), i;
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(v);
        } else if (digits_ == 0) {
          return bad("bad chunk size"), i;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExt;
          line_ = 0;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return bad("bad chunk size"), i;
        }
        break;
      case State::kExt:
        if (c == '\r') state_ = State::kSizeLf;
        else if (c == '\n') return bad("bare LF in chunk line"), i;
        else if (++line_ > kMaxExt) return bad("chunk extensions too long"), i;
        break;
      case State::kSizeLf:
        if (c != '\n') return bad("chunk line not ended by CRLF"), i;
        digits_ = 0;
        state_ = remaining_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kDataCr:
      case State::kDataLf: {
        bool cr = state_ == State::kDataCr;
        if (c != (cr ? '\r' : '\n')) return bad("chunk data not followed by CRLF"), i;
        state_ = cr ? State::kDataLf : State::kSize;
        break;
      }
      case State::kTrailerStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
          break;
        }
        state_ = State::kTrailerLine;
        [[fallthrough]];
      case State::kTrailerLine:
        if (++trailers_ > kMaxTrailers) return bad("trailers too long"), i;
        if (c == '\n') state_ = State::kTrailerStart;
        break;
      case State::kFinalLf:
        if (c != '\n') return bad("chunked body not ended by CRLF"), i;
        status_ = Status::kDone;
        break;
      case State::kData:
        break;
    }
  }
  return i;
}

}  // namespace tb::net::http
