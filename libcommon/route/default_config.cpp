#include "libcommon/route/default_config.hpp"

namespace tb::route {

namespace {
constexpr std::string_view kText = R"({
  "endpoints": [
    {"type": "tailscale", "tag": "ts-ep"}
  ],
  "inbounds": [
    {"type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": 1080}
  ],
  "outbounds": [
    {"type": "direct", "tag": "direct"}
  ],
  "route": {
    "rules": [
      {"rule_set": "tailscale", "outbound": "ts-ep"}
    ],
    "final": "direct"
  }
}
)";
}  // namespace

std::string_view default_config_text() { return kText; }

LoadedConfig default_config() {
  LoadedConfig out;
  out.merged = Json::parse(kText);
  out.paths.emplace_back(kDefaultConfigName);
  return out;
}

}  // namespace tb::route
