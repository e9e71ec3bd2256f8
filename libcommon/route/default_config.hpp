#pragma once
// The config tailbox uses when none is given (sb-route plan, sb-relay): a mixed inbound on
// 127.0.0.1:1080; tailnet addresses and MagicDNS names (the built-in `tailscale` rule-set) go to
// the tailscale endpoint; everything else goes direct. Written in sing-box syntax, so
// `sb-route format` and sing-box itself read it too. Documented in sb-route(1).

#include <string_view>

#include "libcommon/route/source.hpp"

namespace tb::route {

// The JSON text of the embedded default config.
std::string_view default_config_text();

// The name used for it wherever a config path is shown (plan records, messages).
inline constexpr std::string_view kDefaultConfigName = "<default>";

// The default config as a loaded (already "merged") document.
LoadedConfig default_config();

}  // namespace tb::route
