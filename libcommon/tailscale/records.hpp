#pragma once
// v1 output records built from daemon models (documented in man/tailbox.7). Pure functions: no I/O.
//
//   status  the normalized state of the node and its tailnet (ts-status --json, ts-status watch)
//   event   one change between two status records, or something the IPN bus said (watch)
//   error   a failure, on stdout in JSON modes so that jq pipelines see it (the exit code rules)
//
// Every record starts with "v" and "type"; keys are snake_case; lists are [] and never null;
// absolute times are RFC 3339 UTC strings or null; durations are seconds.

#include <cstdint>
#include <string>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/status.hpp"

namespace tb::ts {

inline constexpr int kSchemaVersion = 1;

struct RecordOptions {
  bool include_peers = true;
  bool active_only = false;  // --active: drop peers that are not Active
};

// The normalized state string for a status ("running", …).
std::string record_state(const Status& s);
// Running (or Starting) and self online: the node can reach its tailnet.
bool is_connected(const Status& s);

core::Json status_record(const Status& s, const RecordOptions& opts = {});
// A status record for a daemon we could not ask: state "daemon_unreachable" or "access_denied".
core::Json unreachable_status_record(const core::Error& e);
core::Json error_record(const core::Error& e);

// The record without fields that change on every poll (byte counters, last seen/handshake):
// two records with equal keys describe the same tailnet state.
core::Json dedupe_key(const core::Json& status_rec);

// Whether a status record knows the daemon's peers: not when the daemon could not be asked
// (daemon_unreachable, access_denied).
bool knows_peers(const core::Json& status_rec);

// Events that lead from prev to next (both status records). prev may be null (first record).
// Peer events only between records that know the peers (not daemon_unreachable/access_denied).
std::vector<core::Json> diff_events(const core::Json& prev, const core::Json& next, int64_t now_unix);
core::Json make_event(std::string_view name, int64_t now_unix);

// The peer name people see: the DNS name without the MagicDNS suffix, else the FQDN without its
// trailing dot, else the host name.
std::string display_name(const PeerStatus& p, const std::string& suffix);
// "direct", "peer_relay", "relay" (DERP, while active) or "none".
std::string peer_path(const PeerStatus& p);

}  // namespace tb::ts
