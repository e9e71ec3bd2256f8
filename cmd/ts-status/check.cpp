// `ts-status check`: a monitoring plugin (Nagios/Icinga/Naemon/Centreon): one line
// "TAILSCALE <STATUS> - <summary> | <perfdata>", optional long output lines, exit 0/1/2/3.
// Daemon unreachable or access denied is CRITICAL with the reason; bad arguments are UNKNOWN.

#include <algorithm>

#include "cmd/ts-status/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/health.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using core::CheckStatus;
using core::Json;

namespace {
struct Verdict {
  CheckStatus status = CheckStatus::kOk;
  std::vector<std::string> problems;  // worst first in the summary
  void raise(CheckStatus s, std::string why) {
    if (static_cast<int>(s) > static_cast<int>(status)) status = s;
    problems.push_back(std::move(why));
  }
};

// A peer matches by short name, FQDN (with or without the trailing dot), host name or IP.
const Json* find_peer(const Json& peers, const std::string& want) {
  std::string w = want;
  if (!w.empty() && w.back() == '.') w.pop_back();
  for (const auto& p : peers) {
    if (p.value("name", "") == w || p.value("dns_name", "") == w || p.value("host_name", "") == w) return &p;
    for (const auto& ip : p["ips"]) {
      if (ip.get<std::string>() == w) return &p;
    }
  }
  return nullptr;
}

std::string perf(const std::string& label, double value, const std::string& uom = "", const std::string& warn = "",
                 const std::string& crit = "", const std::string& min = "") {
  char buf[64];
  snprintf(buf, sizeof buf, "%.0f", value);
  std::string s = "'" + label + "'=" + buf + uom + ";" + warn + ";" + crit + ";" + min;
  while (!s.empty() && s.back() == ';') s.pop_back();
  return s;
}
// The daemon's state and its link to the control plane.
void check_state(const std::string& state, const Json& rec, Verdict& v) {
  if (state == "starting") v.raise(CheckStatus::kWarning, "state starting");
  else if (state != "running") v.raise(CheckStatus::kCritical, "state " + state);
  else if (!rec["connected"].get<bool>()) v.raise(CheckStatus::kWarning, "not connected to the control plane");
}

struct Expiry {
  std::string text = "key expiry disabled";  // for the summary
  std::string perf;                          // key_expiry_seconds, when the key expires
};

Expiry check_expiry(const Json& self, const CheckArgs& args, int64_t now, Verdict& v) {
  Expiry e;
  if (self.is_object() && self.value("key_expired", false)) {
    v.raise(CheckStatus::kCritical, "node key expired");
    e.text = "key expired";
    return e;
  }
  if (!self.is_object() || !self["key_expiry"].is_string()) return e;
  auto t = core::parse_rfc3339(self["key_expiry"].get<std::string>());
  if (!t) return e;
  int64_t left = *t - now;
  int64_t warn_s = args.warn_expiry.count() / 1000, crit_s = args.crit_expiry.count() / 1000;
  e.text = left <= 0 ? "key expired" : "key expires in " + core::format_duration(left);
  if (left <= 0) v.raise(CheckStatus::kCritical, "node key expired");
  else if (left <= crit_s) v.raise(CheckStatus::kCritical, e.text);
  else if (left <= warn_s) v.raise(CheckStatus::kWarning, e.text);
  e.perf = perf("key_expiry_seconds", static_cast<double>(std::max<int64_t>(left, 0)), "s", std::to_string(warn_s) + ":",
                std::to_string(crit_s) + ":", "0");
  return e;
}

struct PeerCounts {
  int online = 0, direct = 0, relayed = 0;
};

PeerCounts check_peers(const Json& peers, const CheckArgs& args, Verdict& v) {
  for (const auto& name : args.require_peers) {
    const Json* p = find_peer(peers, name);
    if (!p) {
      v.raise(CheckStatus::kCritical, "peer " + name + " not in the tailnet");
    } else if (!p->value("online", false)) {
      v.raise(CheckStatus::kCritical, "peer " + name + " offline");
    } else if (args.require_direct && p->value("path", "") != "direct") {
      v.raise(CheckStatus::kWarning, "peer " + name + " not direct (" + p->value("path", "none") + ")");
    }
  }
  PeerCounts c;
  for (const auto& p : peers) {
    c.online += p.value("online", false) ? 1 : 0;
    std::string path = p.value("path", "");
    c.direct += path == "direct" ? 1 : 0;
    c.relayed += (path == "relay" || path == "peer_relay") ? 1 : 0;
  }
  if (args.require_direct && args.require_peers.empty() && c.relayed > 0)
    v.raise(CheckStatus::kWarning, std::to_string(c.relayed) + " active peer(s) relayed");
  if (args.max_relayed && c.relayed > *args.max_relayed)
    v.raise(CheckStatus::kWarning, std::to_string(c.relayed) + " peers relayed (more than " +
                                       std::to_string(*args.max_relayed) + ")");
  return c;
}

// --require-exit-node-online: an exit node is in use and online.
void check_exit_node(const Json& exit_node, Verdict& v) {
  if (!exit_node.is_object()) return v.raise(CheckStatus::kCritical, "no exit node in use");
  std::string name = exit_node.value("name", "");
  if (name.empty()) name = exit_node.value("id", "");
  if (!exit_node.value("online", false)) v.raise(CheckStatus::kCritical, "exit node " + name + " offline");
}

// The daemon's health. With its structured state (the IPN bus), a warning that impacts
// connectivity is CRITICAL and the others are WARNING with --warn-health; without it (older
// daemons), any message is WARNING with --warn-health. Returns how many impact connectivity.
int check_health(const Json& rec, const CheckArgs& args, Verdict& v) {
  const Json& ws = rec["health_warnings"];
  if (ws.empty()) {
    if (args.warn_health && !rec["health"].empty())
      v.raise(CheckStatus::kWarning, std::to_string(rec["health"].size()) + " health warning(s)");
    return 0;
  }
  int impacting = 0, other = 0;
  for (const auto& w : ws) {
    if (!w.value("impacts_connectivity", false)) {
      ++other;
      continue;
    }
    ++impacting;
    v.raise(CheckStatus::kCritical, "health " + w.value("code", "") + " (" + w.value("severity", "") +
                                        ", impacts connectivity): " + w.value("text", ""));
  }
  if (args.warn_health && other > 0) v.raise(CheckStatus::kWarning, std::to_string(other) + " health warning(s)");
  return impacting;
}

// The problems, worst first; or, when there are none, who we are and how the tailnet looks.
std::string summary(const Verdict& v, const std::string& state, const Json& rec, const PeerCounts& c, const Expiry& e) {
  std::string s;
  for (const auto& p : v.problems) s += (s.empty() ? "" : "; ") + p;
  if (!s.empty()) return s;
  const Json& self = rec["self"];
  std::string who;
  if (self.is_object()) {
    who = " as " + self.value("name", "");
    if (!self["ips"].empty()) who += " (" + self["ips"][0].get<std::string>() + ")";
  }
  return state + who + ", " + std::to_string(c.online) + "/" + std::to_string(rec["peers"].size()) + " peers online, " + e.text;
}

std::string perfdata(const Json& rec, const PeerCounts& c, const Expiry& e, const CheckArgs& args, int impacting) {
  std::string relayed_warn = args.max_relayed ? std::to_string(*args.max_relayed) : "";
  std::string out = perf("peers", static_cast<double>(rec["peers"].size()), "", "", "", "0") + " " +
                    perf("peers_online", c.online, "", "", "", "0") + " " + perf("peers_direct", c.direct, "", "", "", "0") +
                    " " + perf("peers_relayed", c.relayed, "", relayed_warn, "", "0") + " " +
                    perf("health_messages", static_cast<double>(rec["health"].size()), "", "", "", "0") + " " +
                    perf("health_connectivity", impacting, "", "", "0", "0");
  if (!e.perf.empty()) out += " " + e.perf;
  return out;
}

// "TAILSCALE <STATUS> - <summary> | <perfdata>" and the long lines, unless --quiet.
int finish(const CheckArgs& args, CheckStatus st, const std::string& summary, const std::string& perfdata,
           const std::vector<std::string>& long_lines) {
  if (!args.quiet) {
    std::string out = "TAILSCALE " + std::string(core::check_status_name(st)) + " - " + summary;
    if (!perfdata.empty()) out += " | " + perfdata;
    out += "\n";
    for (const auto& l : long_lines) out += l + "\n";
    core::write_stdout(out);
  }
  return core::to_int(st);
}

}  // namespace

int run_check(const CommonArgs& common, const CheckArgs& args) {
  Client client(common);
  auto status = client->status(true);
  if (!status) {
    const core::Error& e = status.error();
    if (e.code == core::ExitCode::kInterrupted) return core::to_int(CheckStatus::kUnknown);
    return finish(args, CheckStatus::kCritical, e.line(), "", {});
  }
  // Structured health is a bonus: a daemon that cannot give it leaves the sentences.
  add_health(client.api(), *status, common.timeout);
  Json rec = ts::status_record(*status);
  Verdict v;
  std::string state = rec["state"];
  check_state(state, rec, v);
  Expiry expiry = check_expiry(rec["self"], args, core::now_unix(), v);
  PeerCounts counts = check_peers(rec["peers"], args, v);
  if (args.require_exit_node_online) check_exit_node(rec["exit_node"], v);
  int impacting = check_health(rec, args, v);
  std::vector<std::string> long_lines;
  for (const auto& h : rec["health"]) long_lines.push_back("health: " + h.get<std::string>());
  return finish(args, v.status, summary(v, state, rec, counts, expiry), perfdata(rec, counts, expiry, args, impacting), long_lines);
}

}  // namespace tb::cmd
