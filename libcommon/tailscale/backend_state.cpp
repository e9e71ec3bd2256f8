#include "libcommon/tailscale/backend_state.hpp"

namespace tb::ts {

namespace {
struct Row {
  BackendState state;
  std::string_view daemon;
  std::string_view normalized;
};
constexpr Row kRows[] = {
    {BackendState::kNoState, "NoState", "no_state"},
    {BackendState::kInUseOtherUser, "InUseOtherUser", "in_use_other_user"},
    {BackendState::kNeedsLogin, "NeedsLogin", "needs_login"},
    {BackendState::kNeedsMachineAuth, "NeedsMachineAuth", "needs_machine_auth"},
    {BackendState::kStopped, "Stopped", "stopped"},
    {BackendState::kStarting, "Starting", "starting"},
    {BackendState::kRunning, "Running", "running"},
};
}  // namespace

BackendState backend_state_from_string(std::string_view s) {
  for (const auto& r : kRows) {
    if (r.daemon == s) return r.state;
  }
  return BackendState::kUnknown;
}

BackendState backend_state_from_int(long long v) {
  if (v >= 0 && v <= 6) return static_cast<BackendState>(v);
  return BackendState::kUnknown;
}

std::string_view normalized_state(BackendState s) {
  for (const auto& r : kRows) {
    if (r.state == s) return r.normalized;
  }
  return "unknown";
}

std::string_view backend_state_name(BackendState s) {
  for (const auto& r : kRows) {
    if (r.state == s) return r.daemon;
  }
  return "Unknown";
}

}  // namespace tb::ts
