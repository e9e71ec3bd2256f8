// The Notify decoder: one line of GET /localapi/v0/watch-ipn-bus (ts-status watch and wait,
// ts-auth up). The fuzz input is one line as tailscaled would send it, or several: each line
// is decoded on its own, as the follower does.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/notify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= all.size()) {
    size_t nl = all.find('\n', start);
    std::string_view line = all.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    auto n = tb::ts::parse_notify(line);
    if (n) {
      FUZZ_CHECK(n->raw.is_object());
      if (n->prefs) FUZZ_CHECK(n->raw.contains("Prefs"));
      (void)tb::core::dump_line(n->raw);
    } else {
      FUZZ_CHECK(!n.error().message.empty());
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
