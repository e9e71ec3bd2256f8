#include "libcommon/tailscale/health.hpp"

#include <algorithm>

#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/localapi_client.hpp"

namespace tb::ts {

using core::Json;

namespace {
std::string str(const Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

std::optional<std::vector<HealthWarning>> parse_health_state(const Json& health) {
  if (!health.is_object()) return std::nullopt;
  std::vector<HealthWarning> out;
  auto ws = health.find("Warnings");
  if (ws == health.end() || !ws->is_object()) return out;  // null: healthy
  for (auto it = ws->begin(); it != ws->end(); ++it) {
    if (!it->is_object()) continue;
    const Json& u = *it;
    HealthWarning w;
    w.code = str(u, "WarnableCode");
    if (w.code.empty()) w.code = it.key();
    w.severity = str(u, "Severity");
    w.title = str(u, "Title");
    w.text = str(u, "Text");
    auto ic = u.find("ImpactsConnectivity");
    w.impacts_connectivity = ic != u.end() && ic->is_boolean() && ic->get<bool>();
    if (auto since = str(u, "BrokenSince"); !since.empty()) w.broken_since = core::parse_rfc3339(since);
    out.push_back(std::move(w));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.code < b.code; });
  return out;
}

core::Result<std::optional<std::vector<HealthWarning>>> read_health(LocalApiClient& client, std::chrono::milliseconds wait) {
  std::optional<std::vector<HealthWarning>> result;
  auto r = client.watch_ipn_bus(notify_mask::kInitialHealthState | notify_mask::kNoPrivateKeys, [&](const Notify& n) {
    if (n.has_health) result = parse_health_state(n.raw["Health"]);
    return false;  // the initial Notify is all we want
  }, wait);
  if (!r) return tl::unexpected(r.error());
  return result;
}

Json health_warnings_json(const std::vector<HealthWarning>& warnings) {
  Json a = Json::array();
  for (const auto& w : warnings) {
    a.push_back({{"code", w.code},
                 {"severity", w.severity},
                 {"title", w.title},
                 {"text", w.text},
                 {"impacts_connectivity", w.impacts_connectivity},
                 {"broken_since", w.broken_since ? Json(core::format_rfc3339(*w.broken_since)) : Json(nullptr)}});
  }
  return a;
}

}  // namespace tb::ts
