// The Status decoder (GET /localapi/v0/status body) and the v1 status record built from it, the
// way ts-status --json and ts-status watch use them. Invariants: the record is a v1 "status"
// record that dumps as JSON; a record has no events against itself; sb-route's reader
// (tailnet_from_status) accepts every record ts-status writes.

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/route/tailnet.hpp"
#include "libcommon/tailscale/records.hpp"
#include "libcommon/tailscale/status.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = tb::ts::parse_status(tb::fuzz::as_text(data, size));
  if (tb::fuzz::refused(s)) return 0;
  (void)tb::ts::record_state(*s);
  (void)tb::ts::is_connected(*s);
  for (const auto& p : s->peers) {
    (void)tb::ts::display_name(p, s->magic_dns_suffix);
    (void)tb::ts::peer_path(p);
  }
  auto rec = tb::ts::status_record(*s);
  FUZZ_CHECK(rec.is_object() && rec.value("v", 0) == 1 && rec.value("type", "") == "status");
  auto line = tb::core::dump_line(rec);
  FUZZ_CHECK(!line.empty() && line.find('\n') == std::string::npos);
  auto active = tb::ts::status_record(*s, {.include_peers = true, .active_only = true});
  (void)tb::ts::status_record(*s, {.include_peers = false, .active_only = false});
  (void)tb::ts::dedupe_key(rec);
  FUZZ_CHECK(tb::ts::diff_events(rec, rec, 0).empty());
  (void)tb::ts::diff_events(tb::core::Json(), rec, 0);
  (void)tb::ts::diff_events(active, rec, 1);
  FUZZ_CHECK(tb::route::tailnet_from_status(rec).has_value());
  return 0;
}
