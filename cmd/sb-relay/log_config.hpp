#pragma once
// The config's log section (sing-box's option.LogOptions: disabled, level, output, timestamp)
// applied to sb-relay's own log, as sing-box's log.New does (log/log.go, v1.13.19).

#include <string>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"

namespace tb::cmd::sb_relay {

// `log` of the merged config. level_given: --log-level or SPDLOG_LEVEL chose the level, which then
// wins over log.level and log.disabled. Without log.level the level stays sb-relay's default
// (warn; sing-box's is trace). A file that cannot be opened for appending is an error (exit 78).
tb::core::Result<void> apply_log_section(const tb::core::Json& log, bool level_given);

}  // namespace tb::cmd::sb_relay
