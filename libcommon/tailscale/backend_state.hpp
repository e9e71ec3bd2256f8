#pragma once
// tailscaled's backend states (docs/localapi.md, "Backend states"). Status carries the string form, the IPN bus
// the integer form; records carry our normalized snake_case name.

#include <optional>
#include <string>
#include <string_view>

namespace tb::ts {

enum class BackendState {
  kNoState = 0,
  kInUseOtherUser = 1,
  kNeedsLogin = 2,
  kNeedsMachineAuth = 3,
  kStopped = 4,
  kStarting = 5,
  kRunning = 6,
  kUnknown = 100,  // a string this version of tailbox does not know, or "" (2020 daemons)
};

BackendState backend_state_from_string(std::string_view s);
BackendState backend_state_from_int(long long v);
// "running", "needs_login", "needs_machine_auth", "stopped", "starting", "no_state", "in_use_other_user", "unknown".
std::string_view normalized_state(BackendState s);
// The daemon's spelling: "Running", "NeedsLogin", …
std::string_view backend_state_name(BackendState s);

}  // namespace tb::ts
