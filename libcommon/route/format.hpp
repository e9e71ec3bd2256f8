#pragma once
// Canonical rewrite of a config, as `sing-box format` does: indent 2, empty values removed
// (null, "", false, 0, [], {}), a one-element list of a listable field written as its element,
// top-level keys in sing-box's order. Other keys keep their order.

#include <string>

#include "libcommon/core/json.hpp"

namespace tb::route {

tb::core::Json format_config(const tb::core::Json& config);
std::string format_config_text(const tb::core::Json& config);  // with the trailing newline

}  // namespace tb::route
