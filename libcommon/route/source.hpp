#pragma once
// Reading config files the way sing-box does (docs/singbox.md, "JSON dialect" and "Multiple
// config files"): JSON with //, /* */ and # comments and trailing commas; YAML (the Rust port's
// users write it); several -c FILE / -C DIR sources merged in path order.

#include <string>
#include <string_view>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"

namespace tb::route {

using tb::core::Json;
using tb::core::Result;

// Comments and trailing commas blanked out (offsets, lines and columns are preserved).
std::string strip_jsonc(std::string_view text);

// One document. `name` is used in messages; YAML is chosen by a .yaml/.yml name, or when the
// text is not JSON and parses as a YAML mapping. Errors are ExitCode::kConfig.
Result<Json> parse_config_text(std::string_view text, const std::string& name);
Result<Json> parse_yaml(std::string_view text, const std::string& name);

struct ConfigSources {
  std::vector<std::string> files;  // -c (may be "stdin")
  std::vector<std::string> dirs;   // -C
};

struct LoadedConfig {
  Json merged;
  std::vector<std::string> paths;  // in merge order
};

// Reads and merges every source. No source at all means "config.json" (as sing-box).
Result<LoadedConfig> load_config(const ConfigSources& src);

// sing-box's merge: objects key by key, arrays concatenated, the earlier value wins on a scalar
// conflict; an object against a non-object is an error.
Result<Json> merge_json(const Json& earlier, const Json& later, const std::string& path = "");

}  // namespace tb::route
