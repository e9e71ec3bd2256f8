// `ts-status exit-nodes`: every exit-node option of the tailnet (Status.Peer[].ExitNodeOption), with
// its addresses, whether control sees it online, its location (tailcfg.Location, where control
// gives one), whether it is the exit node in use, the daemon's suggestion (GET suggest-exit-node,
// as `tailscale exit-node suggest`), the automatic preference (Prefs.AutoExitNode, 1.86+) and, with
// --probe, one disco ping each (latency and path). A table, or one v1 `exit_nodes` record.
// Exit: 0 running, 1 not running, the usual Local API codes otherwise.

#include <algorithm>
#include <cstdio>

#include "cmd/ts-status/probe_commands.hpp"
#include "libcommon/core/cli.hpp"
#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;
using core::to_int;

namespace {

Json id_name(const std::string& id, const std::string& name) {
  return id.empty() ? Json(nullptr) : Json{{"id", id}, {"name", name}};
}

// The suggestion, or the daemon's reason for none (an old daemon: 404; no DERP home yet: 500).
void add_suggestion(Client& client, const ts::Status& st, Json& rec) {
  auto s = client->suggest_exit_node();
  rec["suggested"] = nullptr;
  rec["suggestion_error"] = nullptr;
  if (!s) {
    if (s.error().code == ExitCode::kInterrupted || s.error().code == ExitCode::kUnavailable) return;
    rec["suggestion_error"] = s.error().message;
    return;
  }
  if (s->id.empty()) return;
  rec["suggested"] = {{"id", s->id}, {"name", core::without_trailing_dot(s->name)}, {"location", s->location}};
  for (const auto& p : st.peers)  // the name people see, as in the node list
    if (p.id == s->id) rec["suggested"]["name"] = ts::display_name(p, st.magic_dns_suffix);
}

Json node_record(const ts::Status& st, const ts::PeerStatus& p, const std::map<std::string, Json>& locations,
                 const std::string& suggested) {
  Json ips = Json::array();
  for (const auto& ip : p.tailscale_ips) ips.push_back(ip);
  auto loc = locations.find(p.id);
  return Json{{"id", p.id},
              {"name", ts::display_name(p, st.magic_dns_suffix)},
              {"dns_name", core::without_trailing_dot(p.dns_name)},
              {"ips", ips},
              {"online", p.online},
              {"location", loc == locations.end() ? Json(nullptr) : loc->second},
              {"current", p.exit_node},
              {"suggested", !suggested.empty() && p.id == suggested}};
}

std::string location_text(const Json& loc) {
  if (!loc.is_object()) return "-";
  std::string city = loc.value("city", ""), country = loc.value("country", "");
  if (city.empty() && country.empty()) return "-";
  return city.empty() ? country : country.empty() ? city : city + ", " + country;
}

std::string status_text(const Json& n) {
  std::string s;
  auto add = [&](const char* w) { s += (s.empty() ? "" : ", ") + std::string(w); };
  if (n.value("current", false)) add("current");
  if (n.value("suggested", false)) add("suggested");
  if (!n.value("online", false)) add("offline");
  return s.empty() ? "-" : s;
}

// LATENCY and PATH of a probed node.
std::vector<std::string> probe_cells(const Json& n) {
  if (!n.contains("error")) return {"-", "-"};
  if (!n["error"].is_null()) return {"-", n["error"].get<std::string>()};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fms", n.value("latency_seconds", 0.0) * 1000);
  std::string path = n["path"].is_string() ? n["path"].get<std::string>() : "-";
  if (path == "relay" && n["derp_region"].is_string()) path += " (DERP " + n["derp_region"].get<std::string>() + ")";
  if (path == "direct" && n["endpoint"].is_string()) path += " " + n["endpoint"].get<std::string>();
  return {buf, path};
}

std::string columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) out += i + 1 < r.size() ? r[i] + std::string(width[i] - r[i].size() + 2, ' ') : r[i];
    out += "\n";
  }
  return out;
}

std::string render(const Json& rec, bool probe) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "IP", "LOCATION", "STATUS"});
  if (probe) rows.back().insert(rows.back().end(), {"LATENCY", "PATH"});
  for (const auto& n : rec["nodes"]) {
    std::string ip = n["ips"].empty() ? "-" : n["ips"][0].get<std::string>();
    std::vector<std::string> row{n.value("name", ""), ip, location_text(n["location"]), status_text(n)};
    if (probe)
      for (auto& c : probe_cells(n)) row.push_back(std::move(c));
    rows.push_back(std::move(row));
  }
  std::string out = columns(rows);
  if (rec["nodes"].empty()) out = "No exit nodes in the tailnet.\n";
  std::string mode = rec["auto"].is_string() ? "automatic (auto:" + rec["auto"].get<std::string>() + ")" : "";
  if (!mode.empty()) out += "# exit node choice: " + mode + "\n";
  if (rec["suggested"].is_object()) out += "# suggested by tailscaled: " + rec["suggested"].value("name", "") + "\n";
  return out;
}

}  // namespace

CLI::App* add_exit_nodes_command(CLI::App& app, ExitNodesArgs& args) {
  auto* cmd = app.add_subcommand("exit-nodes", "The tailnet's exit nodes: online, location, current, suggested");
  cmd->fallthrough();
  cmd->add_flag("--json", args.json, "One v1 exit_nodes record instead of the table");
  cmd->add_flag("--probe", args.probe, "Ping each exit node once (disco): latency and path");
  tb::core::add_duration_option(cmd, "--probe-timeout", args.probe_timeout, "With --probe: wait this long for each pong (default 3s)");
  return cmd;
}

int run_exit_nodes(const CommonArgs& common, const ExitNodesArgs& args) {
  Client client(common);
  auto raw = client->status_raw(true);
  if (!raw) return report(raw.error());
  auto st = ts::parse_status(*raw);
  if (!st) return report(st.error());
  if (st->backend_state != ts::BackendState::kRunning && st->backend_state != ts::BackendState::kStarting) {
    core::print_error_line("ts-status", "not running (state: " + ts::record_state(*st) + "): no exit nodes to list");
    return to_int(ExitCode::kFalse);
  }
  Json rec{{"v", ts::kSchemaVersion}, {"type", "exit_nodes"}, {"state", ts::record_state(*st)}};
  std::string cur_id = st->exit_node_status ? st->exit_node_status->id : "";
  std::string cur_name;
  for (const auto& p : st->peers)
    if (p.id == cur_id) cur_name = ts::display_name(p, st->magic_dns_suffix);
  rec["current"] = id_name(cur_id, cur_name);
  auto prefs = client->prefs();
  rec["auto"] = prefs && !prefs->auto_exit_node.empty() ? Json(prefs->auto_exit_node) : Json(nullptr);
  add_suggestion(client, *st, rec);
  std::string suggested = rec["suggested"].is_object() ? rec["suggested"].value("id", "") : "";
  auto locations = ts::peer_locations(core::parse_or_discarded(*raw));
  Json nodes = Json::array();
  for (const auto& p : st->peers) {
    if (!p.exit_node_option) continue;
    Json n = node_record(*st, p, locations, suggested);
    if (args.probe) n.update(probe_peer(client, p, args.probe_timeout));
    nodes.push_back(std::move(n));
  }
  std::sort(nodes.begin(), nodes.end(), [](const Json& a, const Json& b) { return a.value("name", "") < b.value("name", ""); });
  rec["nodes"] = std::move(nodes);
  // Ctrl-C during the suggestion or a probe: no record or table of what was cut short.
  if (core::interrupted()) return core::to_int(core::ExitCode::kInterrupted);
  if (args.json) core::emit_record(rec);
  else core::write_stdout(render(rec, args.probe));
  return 0;
}

Json probe_peer(Client& client, const ts::PeerStatus& p, std::chrono::milliseconds timeout) {
  ts::PingResult r;
  std::string ip = first_ipv4(p);
  auto got = ip.empty() ? core::Result<ts::PingResult>(tl::unexpected(core::Error{ExitCode::kDataErr, "no address", {}}))
                        : client->ping(ip, "disco", timeout);
  if (got) r = std::move(*got);
  else r.err = got.error().code == ExitCode::kTimeout ? "timeout" : got.error().message;
  return ts::ping_json(r);
}

}  // namespace tb::cmd
