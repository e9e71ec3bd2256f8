#include "cmd/sb-relay/source.hpp"

#include "libcommon/route/default_config.hpp"
#include "libcommon/route/source.hpp"

namespace tb::cmd::sb_relay {

using tb::core::ExitCode;
using tb::core::Json;

tb::core::Result<std::shared_ptr<const tb::net::Plan>> load_config_plan(const std::vector<std::string>& files,
                                                                       const std::vector<std::string>& dirs) {
  tb::route::LoadedConfig loaded;
  if (files.empty() && dirs.empty()) {
    loaded = tb::route::default_config();
  } else {
    auto l = tb::route::load_config({files, dirs});
    if (!l) return tl::unexpected(l.error());
    loaded = std::move(*l);
  }
  return tb::net::plan_from_config(loaded.merged, nullptr, loaded.paths);
}

tb::core::Result<std::optional<std::shared_ptr<const tb::net::Plan>>> plan_from_line(const std::string& line) {
  using Out = std::optional<std::shared_ptr<const tb::net::Plan>>;
  if (line.find_first_not_of(" \t\r") == std::string::npos) return Out{};
  if (tb::core::nests_deeper_than(line))
    return tb::core::fail(ExitCode::kDataErr, "nested deeper than " + std::to_string(tb::core::kMaxJsonDepth) + " levels");
  Json j = tb::core::parse_or_discarded(line);
  if (j.is_discarded() || !j.is_object()) return tb::core::fail(ExitCode::kDataErr, "not a JSON object");
  if (!j.contains("type") || j["type"] != "plan") return Out{};  // other records are not ours
  auto p = tb::net::plan_from_record(j);
  if (!p) return tl::unexpected(p.error());
  return Out{*p};
}

}  // namespace tb::cmd::sb_relay
