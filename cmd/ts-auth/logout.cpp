// `ts-auth logout`: log the node out (POST logout). Idempotent: a node that is already logged out
// is left alone (changed:false). One record: {"type":"logout","changed":…,"state":…}.

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"

namespace tb::cmd {

using core::ExitCode;

int run_logout(const CommonArgs& common, const LogoutArgs&) {
  Client client(common);
  auto interrupted = [] { return core::Error{ExitCode::kInterrupted, "interrupted", {}}; };
  auto st = client->status(false);
  if (!st) return report(common, core::interrupted() ? interrupted() : st.error());
  bool logged_in = st->have_node_key || st->backend_state != ts::BackendState::kNeedsLogin;
  bool changed = false;
  if (logged_in) {
    if (auto r = client->logout(); !r) return report(common, core::interrupted() ? interrupted() : r.error());
    changed = true;
    auto after = client->status(false);
    if (!after) return report(common, after.error());
    st = std::move(after);
  }
  if (common.json) {
    core::Json j = base_record("logout");
    j["changed"] = changed;
    j["state"] = std::string(ts::normalized_state(st->backend_state));
    core::emit_record(j);
  } else {
    core::write_stdout(changed ? "Logged out.\n" : "Already logged out; nothing changed.\n");
  }
  return 0;
}

}  // namespace tb::cmd
