// Helpers shared by ts-auth's subcommands.

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {


int report(const CommonArgs& common, const core::Error& e) {
  if (common.json && e.code != core::ExitCode::kClosedPipe) core::emit_record(ts::error_record(e));
  core::print_error_line(core::tool_name(), e.line());
  return core::to_int(e.code);
}

void warn(const std::string& text) { core::print_error_line(core::tool_name(), "warning: " + text); }

core::Json base_record(const char* type) {
  core::Json j;
  j["v"] = ts::kSchemaVersion;
  j["type"] = type;
  return j;
}

}  // namespace tb::cmd
