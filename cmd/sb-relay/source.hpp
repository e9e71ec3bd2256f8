#pragma once
// Where sb-relay's plans come from: a config (-c/-C, reloaded on SIGHUP), the embedded default,
// or `plan` records on stdin from `sb-route plan` (tb::net::plan_from_object).

#include <memory>
#include <string>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/net/plan.hpp"

namespace tb::cmd::sb_relay {

// -c/-C given: load and merge them; none: the embedded default config.
tb::core::Result<std::shared_ptr<const tb::net::Plan>> load_config_plan(const std::vector<std::string>& files,
                                                                       const std::vector<std::string>& dirs);

}  // namespace tb::cmd::sb_relay
