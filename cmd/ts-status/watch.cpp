// `ts-status watch`: JSON lines for ever. A full status record first, then events and a new
// status record after every change that alters the state (byte counters alone do not).
// Never exits on its own: the daemon going away is an event, and the stream resumes when it is back.

#include "cmd/ts-status/follower.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using core::Json;

int run_watch(const CommonArgs& common, const WatchArgs& args) {
  // A zero interval would re-read the status in a busy loop.
  if (args.interval.count() <= 0) {
    core::print_error_line("ts-status", "--interval must be more than 0");
    return core::to_int(core::ExitCode::kUsage);
  }
  core::exit_when_stdout_closed();
  StatusFollower follower(common, args.interval);
  Json last_rec = nullptr;
  Json last_known = nullptr;  // the last record that knew the peers: a daemon outage is not a removal
  Json last_key = nullptr;
  std::string warned_expiry;  // the key_expiry value we already announced

  for (;;) {
    auto u = follower.next();
    if (u.interrupted) return core::to_int(core::ExitCode::kInterrupted);
    int64_t now = core::now_unix();
    if (args.events) {
      for (const auto& e : u.events) core::emit_record(e);
    }
    Json key = ts::dedupe_key(u.record);
    if (key != last_key || u.reconnected) {
      if (args.events && !last_rec.is_null()) {
        for (const auto& e : ts::diff_events(last_rec, u.record, now)) core::emit_record(e);
        // Back after an outage: peer changes since the last record that knew them.
        if (!last_known.is_null() && last_known != last_rec)
          for (const auto& e : ts::diff_events(last_known, u.record, now))
            if (e.value("event", "") != "state") core::emit_record(e);
      }
      core::emit_record(u.record);
      last_rec = u.record;
      if (ts::knows_peers(u.record)) last_known = u.record;
      last_key = std::move(key);
    }
    // Key expiry is a matter of time passing, not of the daemon saying something.
    const Json& self = u.record["self"];
    if (args.events && self.is_object() && self["key_expiry"].is_string()) {
      std::string exp = self["key_expiry"].get<std::string>();
      auto t = core::parse_rfc3339(exp);
      if (t && exp != warned_expiry && *t - now <= args.expiry_warn.count() / 1000) {
        Json e = ts::make_event("key_expiring", now);
        e["key_expiry"] = exp;
        e["expires_in_s"] = *t - now;
        e["expired"] = *t <= now;
        core::emit_record(e);
        warned_expiry = exp;
      }
    }
  }
}

}  // namespace tb::cmd
