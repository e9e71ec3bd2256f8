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

// The deepest nesting of arrays and objects accepted from any input (configs, daemon replies,
// plan and status records). nlohmann parses without recursion, but copying, comparing and
// dumping a value recurse once per level: a line of 100,000 '[' would overflow the stack.
// sing-box's Go decoder stops at 10,000; no config, Status or record nests past a dozen.
inline constexpr int kMaxJsonDepth = 512;

// Whether text nests arrays/objects deeper than max_depth. Brackets inside strings do not count;
// on text that is not JSON the answer only bounds what a parser could build from it.
bool nests_deeper_than(std::string_view text, int max_depth = kMaxJsonDepth);

// Json::parse(text, nullptr, false), also discarded when nested deeper than kMaxJsonDepth.
Json parse_or_discarded(std::string_view text);

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
