#include "libcommon/tailscale/probe.hpp"

#include <cstdio>

#include "libcommon/tailscale/localapi_client.hpp"

namespace tb::ts {

using core::ExitCode;
using core::get_int;
using core::get_string;
using core::Json;

core::Result<PingResult> parse_ping_result(std::string_view body) {
  auto doc = core::parse_json(body, ExitCode::kProtocol, "ping: tailscaled sent invalid JSON");
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->is_object()) return core::fail(ExitCode::kProtocol, "ping: the daemon's reply is not a JSON object");
  const Json& d = *doc;
  PingResult r;
  r.ip = get_string(d, "IP");
  r.node_ip = get_string(d, "NodeIP");
  r.node_name = get_string(d, "NodeName");
  r.err = get_string(d, "Err");
  if (auto it = d.find("LatencySeconds"); it != d.end() && it->is_number()) r.latency_seconds = it->get<double>();
  r.endpoint = get_string(d, "Endpoint");
  r.peer_relay = get_string(d, "PeerRelay");
  r.derp_region_id = get_int(d, "DERPRegionID");
  r.derp_region_code = get_string(d, "DERPRegionCode");
  r.is_local_ip = core::get_bool(d, "IsLocalIP");
  return r;
}

std::string ping_path(const PingResult& r) {
  if (!r.err.empty()) return "";
  // The CLI's order (cmd/tailscale/cli/ping.go): a peer relay, then DERP, then the endpoint.
  if (!r.peer_relay.empty()) return "peer_relay";
  if (r.derp_region_id != 0) return "relay";
  if (!r.endpoint.empty()) return "direct";
  return "";
}

Json ping_json(const PingResult& r) {
  auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  Json j;
  j["latency_seconds"] = r.err.empty() ? Json(r.latency_seconds) : Json(nullptr);
  j["path"] = or_null(ping_path(r));
  j["endpoint"] = or_null(r.peer_relay.empty() && r.derp_region_id == 0 ? r.endpoint : "");
  j["derp_region"] = or_null(r.derp_region_id != 0 ? r.derp_region_code : "");
  j["peer_relay"] = or_null(r.peer_relay);
  j["error"] = or_null(r.err);
  return j;
}

Json location_json(const Json& loc) {
  if (!loc.is_object()) return nullptr;
  return Json{{"country", get_string(loc, "Country")}, {"country_code", get_string(loc, "CountryCode")},
              {"city", get_string(loc, "City")}, {"city_code", get_string(loc, "CityCode")},
              {"priority", get_int(loc, "Priority")}};
}

std::map<std::string, Json> peer_locations(const Json& doc) {
  std::map<std::string, Json> out;
  const Json* peers = doc.is_object() ? core::get_object(doc, "Peer") : nullptr;
  if (!peers) return out;
  for (const auto& p : *peers) {
    if (!p.is_object()) continue;
    std::string id = get_string(p, "ID");
    if (auto it = p.find("Location"); !id.empty() && it != p.end() && it->is_object()) out[id] = location_json(*it);
  }
  return out;
}

core::Result<ExitNodeSuggestion> parse_suggestion(std::string_view body) {
  auto doc = core::parse_json(body, ExitCode::kProtocol, "suggest-exit-node: tailscaled sent invalid JSON");
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->is_object())
    return core::fail(ExitCode::kProtocol, "suggest-exit-node: the daemon's reply is not a JSON object");
  ExitNodeSuggestion s;
  s.id = get_string(*doc, "ID");
  s.name = get_string(*doc, "Name");
  if (auto it = doc->find("Location"); it != doc->end()) s.location = location_json(*it);
  return s;
}

bool has_auto_exit_node(std::string_view version) {
  int major = 0, minor = 0;
  std::string v(version);
  if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 1 || (major == 1 && minor >= 86);
}

// ---- LocalApiClient's calls for these (declared in localapi_client.hpp) ----

core::Result<PingResult> LocalApiClient::ping(const std::string& ip, std::string_view type,
                                              std::chrono::milliseconds timeout) {
  // As the official client sends it (client/local/local.go PingWithOpts): ip, size=0, type.
  std::string path = "/localapi/v0/ping?ip=" + ip + "&size=0&type=" + std::string(type);
  auto resp = transport_->request("POST", path, {}, timeout);
  if (!resp) return tl::unexpected(resp.error());
  if (resp->status / 100 != 2) return tl::unexpected(daemon_error(*resp, "ping"));
  return parse_ping_result(resp->body);
}

core::Result<ExitNodeSuggestion> LocalApiClient::suggest_exit_node() {
  // GET, as client/local/local.go SuggestExitNode does (POST would ask for a routecheck probe).
  auto resp = call("GET", "suggest-exit-node", {}, "suggest-exit-node");
  if (!resp) return tl::unexpected(resp.error());
  return parse_suggestion(resp->body);
}

}  // namespace tb::ts
