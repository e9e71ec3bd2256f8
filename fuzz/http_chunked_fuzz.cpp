// The chunked-body scanner sb-relay uses to find where a chunked request or response body ends
// (http_chunked.hpp). Invariants: it never takes more than it is given; the first byte chooses
// where the rest is split in two, and two feeds take the same bytes to the same status as one;
// a body found "done" is done on exactly those bytes and not one byte short; errors have a text.

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/net/http_chunked.hpp"

using tb::net::Bytes;
using S = tb::net::http::ChunkedScanner::Status;

namespace {
std::pair<size_t, S> scan(Bytes in, size_t cut) {
  tb::net::http::ChunkedScanner sc;
  size_t used = sc.feed(in.first(cut));
  FUZZ_CHECK(used <= cut);
  if (sc.status() == S::kMore) {
    FUZZ_CHECK(used == cut);
    size_t more = sc.feed(in.subspan(cut));
    FUZZ_CHECK(more <= in.size() - cut);
    used += more;
  }
  if (sc.status() == S::kBad) FUZZ_CHECK(!sc.error().empty());
  if (sc.status() == S::kMore) FUZZ_CHECK(used == in.size());
  return {used, sc.status()};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Bytes in(data + 1, size - 1);
  size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  auto whole = scan(in, in.size());
  auto split = scan(in, cut);
  FUZZ_CHECK(whole == split);
  if (whole.second == S::kDone) {
    auto exact = scan(in.first(whole.first), whole.first);
    FUZZ_CHECK(exact.first == whole.first && exact.second == S::kDone);
    auto short_one = scan(in.first(whole.first - 1), whole.first - 1);
    FUZZ_CHECK(short_one.second != S::kDone);
  }
  return 0;
}
