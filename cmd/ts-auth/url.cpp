// `ts-auth url`: print the login URL tailscaled is waiting on (status AuthURL). Exit 0 with the
// URL, exit 1 when no login is pending (the predicate is false), so `url=$(ts-auth url)` works.

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"

namespace tb::cmd {

using core::ExitCode;

int run_url(const CommonArgs& common, const UrlArgs&) {
  Client client(common);
  auto st = client->status(false);
  if (!st) {
    if (core::interrupted()) return report(common, core::Error{ExitCode::kInterrupted, "interrupted", {}});
    return report(common, st.error());
  }
  std::string state(ts::normalized_state(st->backend_state));
  if (common.json) {
    core::Json j = base_record("auth_url");
    j["url"] = st->auth_url.empty() ? core::Json(nullptr) : core::Json(st->auth_url);
    j["state"] = state;
    core::emit_record(j);
  } else if (!st->auth_url.empty()) {
    core::write_stdout(st->auth_url + "\n");
  }
  if (st->auth_url.empty()) {
    core::print_error_line(core::tool_name(), "no login URL pending (state: " + state + ")");
    return core::to_int(ExitCode::kFalse);
  }
  return 0;
}

}  // namespace tb::cmd
