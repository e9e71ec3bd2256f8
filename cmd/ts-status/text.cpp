// The table for people, in the spirit of `tailscale status` (docs/localapi.md, "tailscale status
// text"): one row for this node, one per peer sorted by DNS name, then health warnings, exit node
// and key expiry.
// Rendered from the v1 status record, so the table can never say something --json does not.

#include <algorithm>

#include "cmd/ts-status/commands.hpp"
#include "libcommon/core/table.hpp"
#include "libcommon/core/time.hpp"

namespace tb::cmd {

using core::Json;

namespace {
std::string owner_cell(const Json& n) {
  std::string user = n.value("user", "");
  if (user.empty()) return "-";
  auto at = user.find('@');
  return at == std::string::npos ? user : user.substr(0, at + 1);
}

std::string first_ip(const Json& n) {
  const Json& ips = n["ips"];
  return ips.empty() ? "-" : ips[0].get<std::string>();
}

std::string ago(int64_t now, const Json& t) {
  if (!t.is_string()) return "";
  auto ts = core::parse_rfc3339(t.get<std::string>());
  if (!ts) return "";
  return ", last seen " + core::format_duration(now - *ts) + " ago";
}

std::string status_cell(const Json& p, int64_t now) {
  bool online = p.value("online", false), active = p.value("active", false);
  bool exit_node = p.value("exit_node", false), offers = p.value("exit_node_option", false);
  int64_t rx = p.value("rx_bytes", int64_t{0}), tx = p.value("tx_bytes", int64_t{0});
  std::string offline = online ? "" : "; offline";
  std::string s;
  if (!active) {
    if (exit_node) s = "idle; exit node" + offline;
    else if (offers) s = "idle; offers exit node" + offline;
    else if (rx || tx) s = "idle" + offline;
    else if (!online) s = "offline" + ago(now, p["last_seen"]);
    else s = "-";
  } else {
    s = "active; ";
    if (exit_node) s += "exit node; ";
    else if (offers) s += "offers exit node; ";
    std::string path = p.value("path", "none");
    if (path == "direct") s += "direct " + p.value("cur_addr", "");
    else if (path == "relay") s += "relay \"" + p.value("relay", "") + "\"";
    else if (path == "peer_relay") s += "peer-relay";
    else s += "-";
    s += offline;
  }
  if (rx || tx) s += ", tx " + std::to_string(tx) + " rx " + std::to_string(rx);
  return s;
}
}  // namespace

std::string render_text(const Json& rec, bool show_self, bool color, int64_t now) {
  core::Table table;
  const Json& self = rec["self"];
  if (show_self && self.is_object()) {
    table.add_row({first_ip(self), self.value("name", ""), owner_cell(self), self.value("os", ""), "-"});
  }
  std::vector<const Json*> peers;
  for (const auto& p : rec["peers"]) peers.push_back(&p);
  std::stable_sort(peers.begin(), peers.end(), [](const Json* a, const Json* b) {
    auto key = [](const Json* p) {
      return std::make_tuple(p->value("dns_name", ""), p->value("host_name", ""), first_ip(*p));
    };
    return key(a) < key(b);
  });
  bool hidden_mullvad = false;
  for (const Json* p : peers) {
    std::string dns = p->value("dns_name", "");
    // Like tailscale: location-based exit nodes are listed only when in use.
    if (dns.size() > 14 && dns.compare(dns.size() - 14, 14, ".mullvad.ts.net") == 0 && !p->value("exit_node", false)) {
      hidden_mullvad = true;
      continue;
    }
    std::string status = status_cell(*p, now);
    if (color) {
      if (!p->value("online", false)) status = core::paint(true, "2", status);
      else if (p->value("active", false)) status = core::paint(true, "32", status);
    }
    table.add_row({first_ip(*p), p->value("name", ""), owner_cell(*p), p->value("os", ""), status});
  }
  std::string out = table.render();

  const Json& health = rec["health"];
  if (!health.empty()) {
    out += "\n# Health check:\n";
    for (const auto& h : health) out += "#     - " + h.get<std::string>() + "\n";
  }
  if (rec["exit_node"].is_object()) {
    const Json& en = rec["exit_node"];
    std::string ip = en["ips"].empty() ? "" : " (" + en["ips"][0].get<std::string>() + ")";
    out += "\n# Exit node: " + en.value("name", en.value("id", "")) + ip +
           (en.value("online", false) ? "" : ", offline") + "\n";
  }
  if (hidden_mullvad) {
    out += "\n# To see the full list of exit nodes, including location-based exit nodes, run `tailscale exit-node list`\n";
  }
  if (self.is_object()) {
    const Json& exp = self["key_expiry"];
    std::string line;
    if (self.value("key_expired", false)) {
      line = core::paint(color, "31", "expired");
    } else if (exp.is_string()) {
      auto t = core::parse_rfc3339(exp.get<std::string>());
      line = exp.get<std::string>();
      if (t) {
        if (*t <= now) line += core::paint(color, "31", " (expired)");
        else line += " (in " + core::format_duration(*t - now) + ")";
      }
    } else {
      line = "disabled";
    }
    out += "\n# Key expiry: " + line + "\n";
  }
  return out;
}

}  // namespace tb::cmd
