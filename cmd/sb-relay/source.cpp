#include "cmd/sb-relay/source.hpp"

#include "libcommon/route/default_config.hpp"
#include "libcommon/route/source.hpp"

namespace tb::cmd::sb_relay {


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

}  // namespace tb::cmd::sb_relay
