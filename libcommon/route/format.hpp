#pragma once
// Canonical rewrite of a config, as `sing-box format` does: indent 2, empty values removed
// (null, "", false, 0, [], {}), a one-element list of a listable field written as its element,
// and the keys of every object tailbox knows (top level, log, inbounds, outbounds, endpoints,
// route, rules and actions, rule-sets, dns servers/rules, experimental) in the field order of
// sing-box's option structs. Unknown keys follow in input order.

#include <string>

#include "libcommon/core/json.hpp"

namespace tb::route {

tb::core::Json format_config(const tb::core::Json& config);
std::string format_config_text(const tb::core::Json& config);  // with the trailing newline

}  // namespace tb::route
