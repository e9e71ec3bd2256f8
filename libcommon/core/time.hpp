#pragma once
// Time in tailbox: absolute times are Unix seconds, printed as RFC 3339 UTC ("2026-01-02T03:04:05Z");
// durations in records are numbers of seconds. tailscaled mixes Z and local offsets and 0–9
// fractional digits, and writes Go's zero time "0001-01-01T00:00:00Z" for "never".

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libcommon/core/error.hpp"

namespace tb::core {

// nullopt for the zero time, empty strings and malformed input (tolerant by design).
std::optional<int64_t> parse_rfc3339(std::string_view text);
std::string format_rfc3339(int64_t unix_seconds);

int64_t now_unix();

// The one Go-duration parser: Go's time.ParseDuration ("300ms", "1.5h", "-2m", "1h30m"; units
// ns, us, µs, ms, s, m, h) plus sing-box's "d" (24h, common/json/badoption/duration.go). In
// seconds; nullopt when malformed. "0" alone is zero, as in Go; any other number needs a unit.
std::optional<double> parse_go_duration(std::string_view text);

// A duration flag: a Go duration, or a bare number of seconds. A sign or an overflow is an error
// (ExitCode::kUsage, the message names the value).
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "3d4h", "2h5m", "45m", "12s", "0s" — the two largest units, for people.
std::string format_duration(int64_t seconds);
// "250ms", "5s", "1.5s", "90s": a timeout as messages show it (seconds with up to three decimals,
// or milliseconds below one second).
std::string format_duration(std::chrono::milliseconds d);

}  // namespace tb::core
