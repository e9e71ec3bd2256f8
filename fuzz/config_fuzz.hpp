#pragma once
// Shared body of config_json_fuzz and config_yaml_fuzz: the bytes as one config file of the given
// name (.json: JSON with comments and trailing commas; .yaml: YAML), then what sb-route check and
// sb-relay do with it: compile (every finding a diagnostic, never a failure) and format.
//
// Invariants: parse errors are ExitCode::kConfig with a message; a parsed config is an object;
// compile_config never fails as a call; format is idempotent and its text is JSON that reads
// back to the formatted value.
//
// Local rule-set paths are pointed at a file that does not exist: the fuzzer must not make the
// loader read /dev/zero or a FIFO. The read error path still runs.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/format.hpp"
#include "libcommon/route/source.hpp"

namespace tb::fuzz {

inline void neutralise_rule_set_paths(tb::core::Json& j) {
  auto route = j.find("route");
  if (route == j.end() || !route->is_object()) return;
  auto sets = route->find("rule_set");
  if (sets == route->end()) return;
  auto fix = [](tb::core::Json& s) {
    if (s.is_object() && s.contains("path")) s["path"] = "tb-fuzz-no-such-dir/rules.json";
  };
  if (sets->is_array())
    for (auto& s : *sets) fix(s);
  else
    fix(*sets);
}

inline int run_config(const uint8_t* data, size_t size, const std::string& name) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string stripped = tb::route::strip_jsonc(text);
  FUZZ_CHECK(stripped.size() == text.size());
  for (size_t i = 0; i < text.size(); ++i) FUZZ_CHECK((text[i] == '\n') == (stripped[i] == '\n'));

  auto j = tb::route::parse_config_text(text, name);
  if (!j) {
    FUZZ_CHECK(j.error().code == tb::core::ExitCode::kConfig && !j.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(j->is_object());
  (void)tb::route::merge_json(*j, *j);
  neutralise_rule_set_paths(*j);
  auto config = tb::route::compile_config(*j);
  FUZZ_CHECK(config != nullptr);
  for (const auto& d : config->diagnostics) (void)d.line();

  auto formatted = tb::route::format_config(*j);
  FUZZ_CHECK(tb::route::format_config(formatted) == formatted);
  std::string out = tb::route::format_config_text(*j);
  auto back = tb::core::Json::parse(out, nullptr, false);
  FUZZ_CHECK(!back.is_discarded());
  return 0;
}

}  // namespace tb::fuzz
