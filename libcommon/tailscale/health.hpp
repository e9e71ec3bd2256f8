#pragma once
// tailscaled's structured health (health.State in an IPN bus Notify, tailscale.com v1.102.5
// health/state.go; docs/localapi.md, "Notify objects"): one UnhealthyState per failing Warnable,
// with its severity and whether it impacts connectivity. The status document's Health has only
// the sentences; the bus has the structure. A healthy daemon sends {"Warnings": null}.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"

namespace tb::ts {

class LocalApiClient;

struct HealthWarning {
  std::string code;      // WarnableCode, e.g. "network-status"
  std::string severity;  // "high", "medium", "low" (as the daemon says; "" when absent)
  std::string title;
  std::string text;
  bool impacts_connectivity = false;
  std::optional<int64_t> broken_since;  // Unix seconds
};

// A Notify's "Health" value → its warnings, sorted by code. nullopt when the value is not a
// health.State object (absent, null: the daemon gave no structured health).
std::optional<std::vector<HealthWarning>> parse_health_state(const core::Json& health);

// One IPN bus subscription with NotifyInitialHealthState: the first Notify's health, then the
// stream is closed. nullopt when the daemon sends no Health (older daemons). A first Notify that
// takes longer than `wait` is a timeout (kTimeout).
core::Result<std::optional<std::vector<HealthWarning>>> read_health(LocalApiClient& client,
                                                                    std::chrono::milliseconds wait);

// The record form: {code, severity, title, text, impacts_connectivity, broken_since}.
core::Json health_warnings_json(const std::vector<HealthWarning>& warnings);

}  // namespace tb::ts
