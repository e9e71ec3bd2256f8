#pragma once
// What tailscaled measures and suggests about paths and exit nodes (docs/localapi.md, "Ping and
// exit-node suggestions"):
//   POST /localapi/v0/ping?ip=IP&type=disco|TSMP|ICMP   ipnstate.PingResult
//   GET  /localapi/v0/suggest-exit-node                  apitype.ExitNodeSuggestionResponse
// and the pieces of the status document and prefs the exit-node views need beyond Status/Prefs:
// each peer's Location (tailcfg.Location, set by control) and Prefs.AutoExitNode (tailscaled 1.86+,
// ipn/prefs.go ExitNodeExpression; "auto:any" on the CLI).

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"

namespace tb::ts {

struct PingResult {
  std::string ip, node_ip, node_name;
  std::string err;            // the daemon's per-ping error ("timeout", "no matching peer", …)
  double latency_seconds = 0;
  std::string endpoint;       // "ip:port" when the pong came over a direct UDP path
  std::string peer_relay;     // "ip:port:vni:N" through a peer relay (1.86+)
  int64_t derp_region_id = 0;
  std::string derp_region_code;
  bool is_local_ip = false;
};

core::Result<PingResult> parse_ping_result(std::string_view body);
// The path a pong took, in the status record's words: "direct", "peer_relay", "relay" (DERP),
// or "" (an error, or a TSMP/ICMP ping, which does not say).
std::string ping_path(const PingResult& r);
// The ping as a JSON object for v1 records: latency_seconds (null on error), path, endpoint,
// derp_region, peer_relay, error (null on success).
core::Json ping_json(const PingResult& r);

struct ExitNodeSuggestion {
  std::string id;    // StableNodeID, "" when the daemon has no suggestion
  std::string name;  // the node's FQDN as the daemon gives it
  core::Json location = nullptr;  // location_json of its Location
};
core::Result<ExitNodeSuggestion> parse_suggestion(std::string_view body);

// tailcfg.Location as a record object {country, country_code, city, city_code, priority}, or null
// when `loc` is not an object.
core::Json location_json(const core::Json& loc);
// Each peer's Location from a status document, by StableNodeID (peers without one are absent).
std::map<std::string, core::Json> peer_locations(const core::Json& status_doc);

// The first tailscaled release with Prefs.AutoExitNode, and whether `version` ("1.102.5-t…",
// "1.86.0") is at least that. An unparsable version is not.
inline constexpr const char* kAutoExitNodeSince = "1.86.0";
bool has_auto_exit_node(std::string_view version);

}  // namespace tb::ts
