// node_exporter textfile metrics (prefix tailbox_, so they never clash with `tailscale metrics`).
// Per-peer labels are bounded: peer name, id and os; no ports, no endpoints.

#include "cmd/ts-status/commands.hpp"
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

std::string render_prometheus(const Json& rec, bool up, int64_t now) {
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
  w.family("tailbox_health_messages", "Number of health warnings tailscaled reports.");
  w.sample("tailbox_health_messages", "", static_cast<double>(rec["health"].size()));

  auto labels = [](const Json& p) {
    return "peer=\"" + label_value(p.value("name", "")) + "\",id=\"" + label_value(p.value("id", "")) + "\",os=\"" +
           label_value(p.value("os", "")) + "\"";
  };
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
  return w.out;
}

}  // namespace tb::cmd
