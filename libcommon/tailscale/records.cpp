#include "libcommon/tailscale/records.hpp"

#include <set>
#include <unordered_map>
#include <vector>

#include "libcommon/core/time.hpp"
#include "libcommon/core/strings.hpp"

namespace tb::ts {

using core::Json;

namespace {
Json time_or_null(const std::optional<int64_t>& t) { return t ? Json(core::format_rfc3339(*t)) : Json(nullptr); }

Json strings(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

// magic_dns.dns_route_resolvers: route suffix → its resolvers ({} without a DNS config).
Json route_resolvers_json(const std::optional<DnsConfig>& c) {
  Json out = Json::object();
  if (c)
    for (const auto& [suffix, addrs] : c->route_resolvers) out[suffix] = strings(addrs);
  return out;
}

std::string owner(const Status& s, const PeerStatus& p) {
  int64_t uid = p.alt_sharer_user_id ? p.alt_sharer_user_id : p.user_id;
  if (const UserProfile* u = s.user(uid)) return u->login_name;
  return "";
}

Json node_json(const Status& s, const PeerStatus& p, bool is_self) {
  Json j;
  j["id"] = p.id;
  j["key"] = p.public_key;
  j["name"] = display_name(p, s.magic_dns_suffix);
  j["dns_name"] = tb::core::without_trailing_dot(p.dns_name);
  j["host_name"] = p.host_name;
  j["ips"] = strings(p.tailscale_ips);
  j["os"] = p.os;
  j["user"] = owner(s, p);
  j["tags"] = strings(p.tags);
  j["online"] = p.online;
  if (!is_self) {
    j["active"] = p.active;
    j["path"] = peer_path(p);
    j["cur_addr"] = p.cur_addr;
  }
  j["relay"] = p.relay;
  if (!is_self) {
    j["exit_node"] = p.exit_node;
  }
  j["exit_node_option"] = p.exit_node_option;
  j["primary_routes"] = strings(p.primary_routes);
  j["allowed_ips"] = strings(p.allowed_ips);
  if (!is_self) {
    j["last_seen"] = time_or_null(p.last_seen);
    j["last_handshake"] = time_or_null(p.last_handshake);
    j["rx_bytes"] = p.rx_bytes;
    j["tx_bytes"] = p.tx_bytes;
  }
  j["key_expiry"] = time_or_null(p.key_expiry);
  j["key_expired"] = p.expired;
  return j;
}

Json base_status(std::string_view state) {
  Json j;
  j["v"] = kSchemaVersion;
  j["type"] = "status";
  j["state"] = state;
  return j;
}

// Which node a peer record is: its stable ID, or its key where the daemon sends no ID (2020 builds),
// so that peers without IDs are not all taken for the first one.
std::string peer_identity(const Json& p) {
  std::string id = p.value("id", "");
  return id.empty() ? "key:" + p.value("key", "") : id;
}

// The peers of a record by identity, in their order. A well-formed status has each identity once;
// where a malformed one lists it more often, the k-th of them pairs with the k-th in the other
// record, so a record never differs from itself (found by the status fuzzer).
using PeersById = std::unordered_map<std::string, std::vector<const Json*>>;
PeersById peers_by_id(const Json& peers) {
  PeersById m;
  for (const auto& p : peers) m[peer_identity(p)].push_back(&p);
  return m;
}

std::string node_label(const Json& p) {
  std::string n = p.value("name", "");
  return n.empty() ? p.value("id", "") : n;
}
}  // namespace

std::string display_name(const PeerStatus& p, const std::string& suffix) {
  std::string fqdn = tb::core::without_trailing_dot(p.dns_name);
  if (fqdn.empty()) return p.host_name;
  if (!suffix.empty() && fqdn.size() > suffix.size() + 1 && fqdn.compare(fqdn.size() - suffix.size(), suffix.size(), suffix) == 0 &&
      fqdn[fqdn.size() - suffix.size() - 1] == '.')
    return fqdn.substr(0, fqdn.size() - suffix.size() - 1);
  return fqdn;
}

std::string peer_path(const PeerStatus& p) {
  if (!p.cur_addr.empty()) return "direct";
  if (!p.peer_relay.empty()) return "peer_relay";
  if (p.active && !p.relay.empty()) return "relay";
  return "none";
}

std::string record_state(const Status& s) { return std::string(normalized_state(s.backend_state)); }

bool is_connected(const Status& s) {
  bool up = s.backend_state == BackendState::kRunning;
  // 2020 daemons had no Self: Running is all we can know.
  return up && (!s.self || s.self->online || !s.self->in_network_map);
}

Json status_record(const Status& s, const RecordOptions& opts) {
  Json j = base_status(record_state(s));
  j["connected"] = is_connected(s);
  j["backend_state"] = s.backend_state_raw;
  j["tun"] = s.tun;
  j["version"] = s.version;
  j["auth_url"] = s.auth_url;
  j["self"] = s.self ? node_json(s, *s.self, true) : Json(nullptr);
  if (s.self && j["self"]["ips"].empty() && !s.tailscale_ips.empty()) j["self"]["ips"] = strings(s.tailscale_ips);

  Json peers = Json::array();
  if (opts.include_peers) {
    for (const auto& p : s.peers) {
      if (opts.active_only && !p.active) continue;
      peers.push_back(node_json(s, p, false));
    }
  }
  j["peers"] = std::move(peers);

  Json exit_node = nullptr;
  if (s.exit_node_status) {
    exit_node = Json::object();
    exit_node["id"] = s.exit_node_status->id;
    std::string name;
    for (const auto& p : s.peers) {
      if (p.id == s.exit_node_status->id) name = display_name(p, s.magic_dns_suffix);
    }
    exit_node["name"] = name;
    Json ips = Json::array();
    for (const auto& prefix : s.exit_node_status->tailscale_ips) ips.push_back(prefix.substr(0, prefix.find('/')));
    exit_node["ips"] = std::move(ips);
    exit_node["online"] = s.exit_node_status->online;
  }
  j["exit_node"] = std::move(exit_node);
  j["health"] = strings(s.health);
  j["health_warnings"] = s.health_warnings ? health_warnings_json(*s.health_warnings) : Json::array();
  Json records = Json::array();
  for (const auto& r : s.extra_records) records.push_back({{"name", r.name}, {"type", r.type}, {"value", r.value}});
  j["magic_dns"] = Json{{"enabled", s.current_tailnet ? s.current_tailnet->magic_dns_enabled : false},
                        {"suffix", s.magic_dns_suffix}, {"extra_records", std::move(records)},
                        {"search_domains", strings(s.dns_config ? s.dns_config->domains : std::vector<std::string>{})},
                        {"dns_routes", strings(s.dns_config ? s.dns_config->routes : std::vector<std::string>{})},
                        {"dns_route_resolvers", route_resolvers_json(s.dns_config)},
                        {"default_resolvers", strings(s.dns_config ? s.dns_config->resolvers : std::vector<std::string>{})}};
  j["tailnet"] = s.current_tailnet ? Json{{"name", s.current_tailnet->name}} : Json(nullptr);
  return j;
}

Json unreachable_status_record(const core::Error& e) {
  Json j = base_status(e.code == core::ExitCode::kNoPerm ? "access_denied" : "daemon_unreachable");
  j["connected"] = false;
  j["backend_state"] = "";
  j["tun"] = false;
  j["version"] = "";
  j["auth_url"] = "";
  j["self"] = nullptr;
  j["peers"] = Json::array();
  j["exit_node"] = nullptr;
  j["health"] = Json::array();
  j["health_warnings"] = Json::array();
  j["magic_dns"] = Json{{"enabled", false}, {"suffix", ""}, {"extra_records", Json::array()},
                        {"search_domains", Json::array()}, {"dns_routes", Json::array()},
                        {"dns_route_resolvers", Json::object()}, {"default_resolvers", Json::array()}};
  j["tailnet"] = nullptr;
  j["error"] = e.line();
  return j;
}

Json error_record(const core::Error& e) {
  Json j;
  j["v"] = kSchemaVersion;
  j["type"] = "error";
  j["code"] = core::exit_code_name(e.code);
  j["exit_code"] = core::to_int(e.code);
  j["message"] = e.message;
  j["hint"] = e.hint;
  return j;
}

Json dedupe_key(const Json& rec) {
  Json k = rec;
  if (k.contains("peers") && k["peers"].is_array()) {
    for (auto& p : k["peers"]) {
      p.erase("rx_bytes");
      p.erase("tx_bytes");
      p.erase("last_seen");
      p.erase("last_handshake");
    }
  }
  return k;
}

Json make_event(std::string_view name, int64_t now) {
  Json j;
  j["v"] = kSchemaVersion;
  j["type"] = "event";
  j["event"] = name;
  j["time"] = core::format_rfc3339(now);
  return j;
}

bool knows_peers(const Json& status_rec) {
  std::string st = status_rec.is_object() ? status_rec.value("state", "") : "";
  return st != "daemon_unreachable" && st != "access_denied";
}

namespace {

// rec[key] when it is an array, else an empty one.
const Json& list_of(const Json& rec, const char* key) {
  static const Json empty_list = Json::array();
  return rec.is_object() && rec.contains(key) && rec[key].is_array() ? rec[key] : empty_list;
}

// The peer of the other record paired with p, or null: peers pair by identity, the k-th with the k-th.
const Json* counterpart(const Json& p, const PeersById& other, std::unordered_map<std::string, size_t>& seen) {
  std::string id = peer_identity(p);
  size_t k = seen[id]++;
  auto it = other.find(id);
  return it != other.end() && k < it->second.size() ? it->second[k] : nullptr;
}

Json peer_event(std::string_view name, const Json& peer, int64_t now) {
  Json e = make_event(name, now);
  e["peer"] = node_label(peer);
  e["id"] = peer.value("id", "");
  return e;
}

// peer_added, peer_online/peer_offline, path, then peer_removed.
void peer_events(const Json& old_peers, const Json& new_peers, int64_t now, std::vector<Json>& out) {
  const PeersById old_by_id = peers_by_id(old_peers), new_by_id = peers_by_id(new_peers);
  std::unordered_map<std::string, size_t> seen_new, seen_old;
  for (const auto& np : new_peers) {
    const Json* op = counterpart(np, old_by_id, seen_new);
    if (!op) {
      Json e = peer_event("peer_added", np, now);
      e["online"] = np.value("online", false);
      out.push_back(std::move(e));
      continue;
    }
    if (op->value("online", false) != np.value("online", false))
      out.push_back(peer_event(np.value("online", false) ? "peer_online" : "peer_offline", np, now));
    std::string op_path = op->value("path", "none"), np_path = np.value("path", "none");
    if (op_path != np_path && op_path != "none" && np_path != "none") {
      Json e = peer_event("path", np, now);
      e["from"] = op_path;
      e["to"] = np_path;
      out.push_back(std::move(e));
    }
  }
  for (const auto& op : old_peers) {
    if (!counterpart(op, new_by_id, seen_old)) out.push_back(peer_event("peer_removed", op, now));
  }
}

void health_event(const Json& prev, const Json& next, int64_t now, std::vector<Json>& out) {
  std::set<std::string> old_h, new_h;
  for (const auto& h : list_of(prev, "health")) old_h.insert(h.get<std::string>());
  for (const auto& h : list_of(next, "health")) new_h.insert(h.get<std::string>());
  if (old_h == new_h) return;
  Json e = make_event("health", now);
  Json added = Json::array(), removed = Json::array();
  for (const auto& h : new_h) if (!old_h.count(h)) added.push_back(h);
  for (const auto& h : old_h) if (!new_h.count(h)) removed.push_back(h);
  e["added"] = std::move(added);
  e["removed"] = std::move(removed);
  e["health"] = list_of(next, "health");
  out.push_back(std::move(e));
}

}  // namespace

std::vector<Json> diff_events(const Json& prev, const Json& next, int64_t now) {
  std::vector<Json> out;
  std::string from = prev.is_object() ? prev.value("state", "") : "";
  std::string to = next.value("state", "");
  if (from != to) {
    Json e = make_event("state", now);
    e["from"] = from.empty() ? Json(nullptr) : Json(from);
    e["to"] = to;
    out.push_back(std::move(e));
  }
  // Without an answer from the daemon nothing is known of its peers: no peer events towards or
  // from such a record (watch diffs against the last one that knew).
  if (!prev.is_object() || !knows_peers(prev) || !knows_peers(next)) return out;
  peer_events(list_of(prev, "peers"), list_of(next, "peers"), now, out);
  health_event(prev, next, now, out);
  std::string old_url = prev.value("auth_url", ""), new_url = next.value("auth_url", "");
  if (!new_url.empty() && new_url != old_url) {
    Json e = make_event("auth_url", now);
    e["url"] = new_url;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace tb::ts
