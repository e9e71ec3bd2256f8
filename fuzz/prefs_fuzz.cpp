// The Prefs decoder (GET /localapi/v0/prefs body, and the Prefs of an IPN bus notification).
// Invariant: a decoded Prefs keeps the document it came from.

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/prefs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = tb::ts::parse_prefs(tb::fuzz::as_text(data, size));
  if (tb::fuzz::refused(p)) return 0;
  FUZZ_CHECK(p->raw.is_object());
  auto again = tb::ts::prefs_from_json(p->raw);
  FUZZ_CHECK(again && again->hostname == p->hostname && again->control_url == p->control_url &&
             again->advertise_routes == p->advertise_routes && again->netfilter_mode == p->netfilter_mode);
  (void)tb::core::dump_line(p->raw);
  return 0;
}
