// node_exporter textfile metrics (prefix tailbox_, so they never clash with `tailscale metrics`).
// Per-peer labels are bounded: peer name, id and os (and path, one of four words); no ports, no
// endpoints. With --probe, one disco ping per online peer (the Local API ping), all within a total
// time budget: latency per peer, and whether it answered.

#include "cmd/ts-status/probe_commands.hpp"
#include "libcommon/core/time.hpp"

namespace tb::cmd {

using core::Json;

namespace {
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

struct Writer {
  std::string out;
  void family(const char* name, const char* help) {
    out += "# HELP " + std::string(name) + " " + help + "\n# TYPE " + name + " gauge\n";
  }
  void sample(const char* name, const std::string& labels, double value) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", value);
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += " ";
    out += buf;
    out += "\n";
  }
};

std::optional<int64_t> time_of(const Json& v) {
  return v.is_string() ? core::parse_rfc3339(v.get<std::string>()) : std::nullopt;
}
}  // namespace

std::string render_prometheus(const Json& rec, bool up, int64_t now) { return render_prometheus(rec, up, now, nullptr); }

namespace {
std::string peer_labels(const Json& p) {
  return "peer=\"" + label_value(p.value("name", "")) + "\",id=\"" + label_value(p.value("id", "")) + "\",os=\"" +
         label_value(p.value("os", "")) + "\"";
}

// Paths, handshake ages and, when probed, latencies.
void path_metrics(Writer& w, const Json& peers, const Json& probes) {
  const char* paths[] = {"direct", "relay", "peer_relay"};
  w.family("tailbox_peers_connected", "Peers with a path for traffic now, by path (direct, relay = DERP, peer_relay).");
  for (const char* path : paths) {
    int n = 0;
    for (const auto& p : peers) n += p.value("path", "") == path ? 1 : 0;
    w.sample("tailbox_peers_connected", std::string("path=\"") + path + "\"", n);
  }
  w.family("tailbox_peer_path", "1 for the peer's current path: direct, relay (DERP), peer_relay or none.");
  for (const auto& p : peers)
    w.sample("tailbox_peer_path", peer_labels(p) + ",path=\"" + label_value(p.value("path", "none")) + "\"", 1);
  // A timestamp, not an age, so that two runs in a row write the same text: the age is
  // time() - this (contrib/prometheus records it as tailbox:peer_handshake_age_seconds).
  w.family("tailbox_peer_last_handshake_timestamp_seconds", "When the last WireGuard handshake with the peer was (absent: never).");
  for (const auto& p : peers)
    if (auto t = time_of(p["last_handshake"])) w.sample("tailbox_peer_last_handshake_timestamp_seconds", peer_labels(p), static_cast<double>(*t));
  if (!probes.is_object()) return;
  w.family("tailbox_peer_probe_success", "1 if the peer answered this run's ping (--probe), 0 if not; absent: not pinged.");
  for (const auto& p : peers)
    if (auto it = probes.find(p.value("id", "")); it != probes.end())
      w.sample("tailbox_peer_probe_success", peer_labels(p), it->at("error").is_null() ? 1 : 0);
  w.family("tailbox_peer_latency_seconds", "Round trip of this run's ping to the peer (--probe), by the path it took.");
  for (const auto& p : peers) {
    auto it = probes.find(p.value("id", ""));
    if (it == probes.end() || !it->at("error").is_null()) continue;
    std::string path = it->at("path").is_string() ? it->at("path").get<std::string>() : "none";
    w.sample("tailbox_peer_latency_seconds", peer_labels(p) + ",path=\"" + label_value(path) + "\"",
             it->value("latency_seconds", 0.0));
  }
}
}  // namespace

Json probe_peers(Client& client, const ts::Status& st, std::chrono::milliseconds budget) {
  Json out = Json::object();
  auto deadline = std::chrono::steady_clock::now() + budget;
  for (const auto& p : st.peers) {
    if (!p.online || p.id.empty()) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left < std::chrono::milliseconds(50)) break;  // the budget is spent: the rest stay unprobed
    out[p.id] = probe_peer(client, p, std::min(left, std::chrono::milliseconds(kProbePingTimeoutMs)));
  }
  return out;
}

std::string render_prometheus(const Json& rec, bool up, int64_t now, const Json& probes) {
  Writer w;
  w.family("tailbox_up", "1 if tailscaled answered the Local API, else 0.");
  w.sample("tailbox_up", "", up ? 1 : 0);
  w.family("tailbox_last_run_timestamp_seconds", "When ts-status wrote these metrics.");
  w.sample("tailbox_last_run_timestamp_seconds", "", static_cast<double>(now));
  if (!up) return w.out;

  w.family("tailbox_state", "Backend state of this node: 1 for the current state.");
  w.sample("tailbox_state", "state=\"" + label_value(rec.value("state", "")) + "\"", 1);
  w.family("tailbox_connected", "1 if the node is Running and online with the control plane.");
  w.sample("tailbox_connected", "", rec.value("connected", false) ? 1 : 0);

  const Json& self = rec["self"];
  if (self.is_object()) {
    w.family("tailbox_self_online", "1 if this node is connected to the control plane.");
    w.sample("tailbox_self_online", "", self.value("online", false) ? 1 : 0);
    if (auto t = time_of(self["key_expiry"])) {
      w.family("tailbox_self_key_expiry_timestamp_seconds", "When this node's key expires (absent: expiry disabled).");
      w.sample("tailbox_self_key_expiry_timestamp_seconds", "", static_cast<double>(*t));
    }
  }
  const Json& peers = rec["peers"];
  int online = 0;
  for (const auto& p : peers) online += p.value("online", false) ? 1 : 0;
  w.family("tailbox_peers", "Number of peers in the tailnet map.");
  w.sample("tailbox_peers", "", static_cast<double>(peers.size()));
  w.family("tailbox_peers_online", "Number of peers connected to the control plane.");
  w.sample("tailbox_peers_online", "", online);
  if (const Json& e = rec["exit_node"]; e.is_object()) {
    w.family("tailbox_exit_node_online", "1 if the exit node in use is online, 0 if not (absent: no exit node in use).");
    w.sample("tailbox_exit_node_online", "exit_node=\"" + label_value(e.value("name", "")) + "\",id=\"" + label_value(e.value("id", "")) + "\"",
             e.value("online", false) ? 1 : 0);
  }
  w.family("tailbox_health_messages", "Number of health warnings tailscaled reports.");
  w.sample("tailbox_health_messages", "", static_cast<double>(rec["health"].size()));

  auto labels = peer_labels;
  w.family("tailbox_peer_online", "1 if the peer is connected to the control plane.");
  for (const auto& p : peers) w.sample("tailbox_peer_online", labels(p), p.value("online", false) ? 1 : 0);
  w.family("tailbox_peer_direct", "1 if traffic to the peer flows over a direct UDP path.");
  for (const auto& p : peers) w.sample("tailbox_peer_direct", labels(p), p.value("path", "") == "direct" ? 1 : 0);
  w.family("tailbox_peer_relayed", "1 if traffic to the peer flows through a DERP or peer relay.");
  for (const auto& p : peers) {
    std::string path = p.value("path", "");
    w.sample("tailbox_peer_relayed", labels(p), path == "relay" || path == "peer_relay" ? 1 : 0);
  }
  w.family("tailbox_peer_last_seen_timestamp_seconds", "When the control plane last saw the peer (absent: unknown).");
  for (const auto& p : peers) {
    if (auto t = time_of(p["last_seen"])) w.sample("tailbox_peer_last_seen_timestamp_seconds", labels(p), static_cast<double>(*t));
  }
  w.family("tailbox_peer_key_expiry_timestamp_seconds", "When the peer's key expires (absent: expiry disabled).");
  for (const auto& p : peers) {
    if (auto t = time_of(p["key_expiry"])) w.sample("tailbox_peer_key_expiry_timestamp_seconds", labels(p), static_cast<double>(*t));
  }
  path_metrics(w, peers, probes);
  return w.out;
}

}  // namespace tb::cmd
