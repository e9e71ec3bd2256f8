// `ts-status check`: a monitoring plugin (Nagios/Icinga/Naemon/Centreon): one line
// "TAILSCALE <STATUS> - <summary> | <perfdata>", optional long output lines, exit 0/1/2/3.
// Daemon unreachable or access denied is CRITICAL with the reason; bad arguments are UNKNOWN.

#include <algorithm>

#include "cmd/ts-status/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/time.hpp"
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
}  // namespace

int run_check(const CommonArgs& common, const CheckArgs& args) {
  Client client(common);
  auto status = client->status(true);
  auto finish = [&](CheckStatus st, const std::string& summary, const std::string& perfdata,
                    const std::vector<std::string>& long_lines) {
    if (!args.quiet) {
      std::string out = "TAILSCALE " + std::string(core::check_status_name(st)) + " - " + summary;
      if (!perfdata.empty()) out += " | " + perfdata;
      out += "\n";
      for (const auto& l : long_lines) out += l + "\n";
      core::write_stdout(out);
    }
    return core::to_int(st);
  };
  if (!status) {
    const core::Error& e = status.error();
    if (e.code == core::ExitCode::kInterrupted) return core::to_int(CheckStatus::kUnknown);
    return finish(CheckStatus::kCritical, e.line(), "", {});
  }

  Json rec = ts::status_record(*status);
  int64_t now = core::now_unix();
  Verdict v;
  std::string state = rec["state"];
  if (state == "starting") v.raise(CheckStatus::kWarning, "state starting");
  else if (state != "running") v.raise(CheckStatus::kCritical, "state " + state);
  else if (!rec["connected"].get<bool>()) v.raise(CheckStatus::kWarning, "not connected to the control plane");

  // Key expiry.
  std::string expiry_text = "key expiry disabled";
  std::string expiry_perf;
  const Json& self = rec["self"];
  if (self.is_object() && self.value("key_expired", false)) {
    v.raise(CheckStatus::kCritical, "node key expired");
    expiry_text = "key expired";
  } else if (self.is_object() && self["key_expiry"].is_string()) {
    auto t = core::parse_rfc3339(self["key_expiry"].get<std::string>());
    if (t) {
      int64_t left = *t - now;
      int64_t warn_s = args.warn_expiry.count() / 1000, crit_s = args.crit_expiry.count() / 1000;
      expiry_text = left <= 0 ? "key expired" : "key expires in " + core::format_duration(left);
      if (left <= 0) v.raise(CheckStatus::kCritical, "node key expired");
      else if (left <= crit_s) v.raise(CheckStatus::kCritical, expiry_text);
      else if (left <= warn_s) v.raise(CheckStatus::kWarning, expiry_text);
      expiry_perf = perf("key_expiry_seconds", static_cast<double>(std::max<int64_t>(left, 0)), "s",
                         std::to_string(warn_s) + ":", std::to_string(crit_s) + ":", "0");
    }
  }

  // Required peers.
  const Json& peers = rec["peers"];
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
  int online = 0, direct = 0, relayed = 0;
  for (const auto& p : peers) {
    online += p.value("online", false) ? 1 : 0;
    std::string path = p.value("path", "");
    direct += path == "direct" ? 1 : 0;
    relayed += (path == "relay" || path == "peer_relay") ? 1 : 0;
  }
  if (args.require_direct && args.require_peers.empty() && relayed > 0)
    v.raise(CheckStatus::kWarning, std::to_string(relayed) + " active peer(s) relayed");
  if (args.warn_health && !rec["health"].empty())
    v.raise(CheckStatus::kWarning, std::to_string(rec["health"].size()) + " health warning(s)");

  std::string who;
  if (self.is_object()) {
    who = " as " + self.value("name", "");
    if (!self["ips"].empty()) who += " (" + self["ips"][0].get<std::string>() + ")";
  }
  std::string summary = v.problems.empty()
                            ? state + who + ", " + std::to_string(online) + "/" + std::to_string(peers.size()) +
                                  " peers online, " + expiry_text
                            : [&] {
                                std::string s;
                                for (const auto& p : v.problems) s += (s.empty() ? "" : "; ") + p;
                                return s;
                              }();
  std::string perfdata = perf("peers", static_cast<double>(peers.size()), "", "", "", "0") + " " +
                         perf("peers_online", online, "", "", "", "0") + " " + perf("peers_direct", direct, "", "", "", "0") +
                         " " + perf("peers_relayed", relayed, "", "", "", "0") + " " +
                         perf("health_messages", static_cast<double>(rec["health"].size()), "", "", "", "0");
  if (!expiry_perf.empty()) perfdata += " " + expiry_perf;
  std::vector<std::string> long_lines;
  for (const auto& h : rec["health"]) long_lines.push_back("health: " + h.get<std::string>());
  return finish(v.status, summary, perfdata, long_lines);
}

}  // namespace tb::cmd
