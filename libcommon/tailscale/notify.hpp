#pragma once
// One ipn.Notify line from watch-ipn-bus (docs/localapi.md, "Notify objects").
// Keys without omitempty are always present and usually null; State is an integer; newer daemons
// add keys at any release. Unknown keys are ignored; the raw object is kept for --raw output.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/backend_state.hpp"
#include "libcommon/tailscale/prefs.hpp"

namespace tb::ts {

// watch-ipn-bus mask bits (ipn.NotifyWatchOpt), by value.
namespace notify_mask {
inline constexpr uint64_t kEngineUpdates = 1;
inline constexpr uint64_t kInitialState = 2;
inline constexpr uint64_t kInitialPrefs = 4;
inline constexpr uint64_t kInitialNetMap = 8;
// Value 16, NotifyNoPrivateKeys: required for non-root watchers on 1.54–1.90, a no-op after.
// Always set it.
inline constexpr uint64_t kNoPrivateKeys = 16;
inline constexpr uint64_t kInitialHealthState = 128;
inline constexpr uint64_t kPeerChanges = 4096;    // 1.98+: PeersChanged/PeersRemoved deltas
inline constexpr uint64_t kPeerPatches = 32768;   // 1.100+: online/endpoint patches
}  // namespace notify_mask

struct Notify {
  std::string version;
  std::string session_id;
  std::optional<std::string> err_message;
  bool login_finished = false;
  std::optional<BackendState> state;
  std::optional<Prefs> prefs;
  std::optional<std::string> browse_to_url;
  bool has_netmap = false;
  bool has_engine = false;
  bool has_health = false;
  bool has_peer_changes = false;  // PeersChanged, PeersRemoved, PeerChangedPatch
  core::Json raw;
};

core::Result<Notify> parse_notify(std::string_view line);

}  // namespace tb::ts
