// `ts-status` (no subcommand): the node and its peers as a table, a v1 record, the raw document or
// Prometheus textfile metrics.

#include <unistd.h>

#include "cmd/ts-status/commands.hpp"
#include "cmd/ts-status/probe_commands.hpp"
#include "libcommon/core/atomic_file.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::to_int;

int report(const core::Error& e) {
  core::print_error_line(core::tool_name(), e.line());
  return to_int(e.code);
}

namespace {
// Exit status of a successful status read: 0 when the node is up, 1 otherwise (predicate false).
int state_exit(const ts::Status& s) {
  return s.backend_state == ts::BackendState::kRunning || s.backend_state == ts::BackendState::kStarting
             ? to_int(ExitCode::kOk)
             : to_int(ExitCode::kFalse);
}

// tailscale status's message for states without a table (docs/localapi.md, "tailscale status text").
std::string not_running_text(const ts::Status& s) {
  switch (s.backend_state) {
    case ts::BackendState::kNeedsLogin:
      return s.auth_url.empty() ? "Logged out.\n" : "Logged out.\nLog in at: " + s.auth_url + "\n";
    case ts::BackendState::kNeedsMachineAuth: return "Machine is not yet approved by tailnet admin.\n";
    case ts::BackendState::kStopped: return "Tailscale is stopped.\n";
    default: return "unexpected state: " + (s.backend_state_raw.empty() ? std::string("unknown") : s.backend_state_raw) + "\n";
  }
}

int write_prometheus(const StatusArgs& args, const core::Json& rec, bool up, const core::Json& probes = nullptr) {
  std::string text = render_prometheus(rec, up, core::now_unix(), probes);
  if (args.output.empty()) {
    core::write_stdout(text);
    return 0;
  }
  if (auto w = core::write_file_atomic(args.output, text); !w) return report(w.error());
  return 0;
}
}  // namespace

int run_status(const CommonArgs& common, const StatusArgs& args) {
  Client client(common);
  using Format = StatusArgs::Format;

  if (args.format == Format::kRaw) {
    auto body = client->status_raw(args.peers);
    if (!body) return report(body.error());
    core::write_stdout(*body);
    // The document goes out unchanged either way; the exit status still says what it meant.
    auto s = ts::parse_status(*body);
    if (!s) return report(s.error());
    return state_exit(*s);
  }

  auto status = client->status(args.peers);
  if (status && args.format == Format::kJson) add_dns_config(client.api(), *status);
  if (!status) {
    const core::Error& e = status.error();
    if (e.code == ExitCode::kInterrupted) return report(e);
    core::Json rec = ts::unreachable_status_record(e);
    if (args.format == Format::kJson) core::emit_record(rec);
    if (args.format == Format::kPrometheus) {
      int rc = write_prometheus(args, rec, false);
      if (rc != 0) return rc;
    }
    return report(e);
  }

  ts::RecordOptions ropts;
  ropts.include_peers = args.peers;
  ropts.active_only = args.active;
  core::Json rec = ts::status_record(*status, ropts);

  switch (args.format) {
    case Format::kJson:
      core::emit_record(rec);
      break;
    case Format::kPrometheus: {
      core::Json probes = args.probe ? probe_peers(client, *status, args.probe_budget) : core::Json(nullptr);
      if (core::interrupted()) return to_int(ExitCode::kInterrupted);
      int rc = write_prometheus(args, rec, true, probes);
      if (rc != 0) return rc;
      break;
    }
    default: {
      bool color = core::use_color(STDOUT_FILENO, common.color);
      bool table = status->backend_state == ts::BackendState::kRunning ||
                   status->backend_state == ts::BackendState::kStarting;
      std::string text;
      if (!table) {
        // Like tailscale: health first when the daemon has no state yet.
        if (status->backend_state == ts::BackendState::kNoState && !status->health.empty()) {
          text += "# Health check:\n";
          for (const auto& h : status->health) text += "#     - " + h + "\n";
          text += "\n";
        }
        text += not_running_text(*status);
      } else {
        text = render_text(rec, args.self, color, core::now_unix());
      }
      core::write_stdout(text);
    }
  }
  return state_exit(*status);
}

}  // namespace tb::cmd
