#pragma once
// JSON helpers. Output uses ordered_json so records keep their documented key order.
// Input getters are tolerant: a missing key or a JSON null yields the default, because tailscaled
// emits null where Go has nil slices and maps, and omits omitempty fields.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/core/error.hpp"

namespace tb::core {

using Json = nlohmann::ordered_json;

// Parses text; errors carry nlohmann's position text and the given code (76 for daemon replies,
// 65 for user input, 78 for configs).
Result<Json> parse_json(std::string_view text, ExitCode code_on_error, std::string_view what);

// One line, compact, UTF-8 errors replaced rather than thrown.
std::string dump_line(const Json& j);

// Typed getters for objects read from the daemon. A wrong type is reported by the caller's
// own validation; these never throw.
std::string get_string(const Json& obj, std::string_view key, std::string def = {});
bool get_bool(const Json& obj, std::string_view key, bool def = false);
// Integers above 2^53 stay exact: nlohmann keeps them as int64/uint64, never double.
int64_t get_int(const Json& obj, std::string_view key, int64_t def = 0);
std::vector<std::string> get_strings(const Json& obj, std::string_view key);
const Json* get_object(const Json& obj, std::string_view key);  // nullptr when absent/null/not object

}  // namespace tb::core
