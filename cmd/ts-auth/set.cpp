// `ts-auth set`: change prefs of a node without logging in again, as `tailscale set` does
// (cmd/tailscale/cli/set.go): read the status and the prefs, resolve the exit node, POST
// check-prefs with the current prefs and the edits applied, then PATCH the masked prefs (only the
// fields given, with their …Set flags). Nothing else changes: not WantRunning, not the login.
//
//   --exit-node NAME|IP    ExitNodeID (a name, resolved in the netmap) or ExitNodeIP
//   --exit-node auto:any   AutoExitNode: tailscaled picks the exit node and fails over when it goes
//                          offline (1.86+; older daemons: an error naming their version)
//   --exit-node none|''    no exit node (clears the automatic choice too)
//
// Exit: 0 done (or nothing to change), 65 refused (check-prefs, an unknown or unsuitable node, a
// daemon too old for auto:any), and the usual Local API codes.

#include <algorithm>

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;

namespace {

// "exit" field of the record: how the daemon's prefs choose the exit node now.
Json exit_node_json(const ts::Prefs& p, const ts::Status& st) {
  std::string mode = !p.auto_exit_node.empty() ? "auto" : (p.exit_node_id.empty() && p.exit_node_ip.empty()) ? "none" : "node";
  std::string name;
  for (const auto& peer : st.peers)
    if (!p.exit_node_id.empty() && peer.id == p.exit_node_id) name = ts::display_name(peer, st.magic_dns_suffix);
  auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  return Json{{"mode", mode}, {"auto", or_null(p.auto_exit_node)}, {"id", or_null(p.exit_node_id)},
              {"ip", or_null(p.exit_node_ip)}, {"name", or_null(name)}, {"allow_lan_access", p.exit_node_allow_lan_access}};
}

std::string text_of(const Json& rec) {
  const Json& e = rec["exit_node"];
  std::string mode = e["mode"];
  std::string what = mode == "none" ? "none"
                     : mode == "auto" ? "auto:" + e["auto"].get<std::string>() + " (tailscaled chooses" +
                                            (e["name"].is_string() ? ", now " + e["name"].get<std::string>() : std::string()) + ")"
                                      : e["name"].is_string() ? e["name"].get<std::string>()
                                                              : e["ip"].is_string() ? e["ip"].get<std::string>() : e["id"].get<std::string>();
  std::string head = rec["changed"].get<bool>() ? "Changed" : "Nothing to change";
  return head + "; exit node: " + what + (e["allow_lan_access"].get<bool>() ? ", local network allowed" : "") + "\n";
}

// The settings as ts-auth set gives them, and the exit node resolved against the status.
core::Result<Plan> plan_for(const SetArgs& args, const ts::Status& st, const ts::Prefs& prefs) {
  Settings s;
  s.exit_node_allow_lan_access = args.exit_node_allow_lan_access;
  std::optional<ExitNodeChoice> exit;
  if (args.exit_node) {
    s.exit_node = *args.exit_node == "none" ? "" : *args.exit_node;
    auto r = resolve_exit_node(*s.exit_node, st);
    if (!r) return tl::unexpected(r.error());
    if (!*r)
      return core::fail(ExitCode::kDataErr, "cannot resolve exit node \"" + *s.exit_node + "\": tailscaled has no network map (state: " +
                                                ts::record_state(st) + ")",
                        "use its Tailscale IP, or run ts-auth up first");
    exit = *r;
  }
  return make_plan(s, prefs, exit);
}

// check-prefs, then PATCH; the prefs the daemon answers with.
core::Result<ts::Prefs> apply_plan(Client& client, const Plan& plan, const ts::Prefs& current, const std::string& version) {
  Json masked = masked_prefs(plan);
  masked.erase("WantRunning");  // set never starts or stops the node
  masked.erase("WantRunningSet");
  Json full = full_prefs(current.raw, plan);
  full["WantRunning"] = current.want_running;
  full["LoggedOut"] = current.logged_out;
  if (auto r = client->check_prefs(full); !r) return tl::unexpected(r.error());
  auto after = client->patch_prefs(masked);
  if (!after) return tl::unexpected(after.error());
  if (plan.exit && !plan.exit->auto_expr.empty() && after->auto_exit_node != plan.exit->auto_expr)
    return core::fail(ExitCode::kProtocol, "tailscaled " + version + " did not keep AutoExitNode=" + plan.exit->auto_expr +
                                               " (its prefs say \"" + after->auto_exit_node + "\")");
  return after;
}

}  // namespace

int run_set(const CommonArgs& common, const SetArgs& args) {
  if (!args.exit_node && !args.exit_node_allow_lan_access)
    return report(common, {ExitCode::kUsage, "nothing to set: give --exit-node or --exit-node-allow-lan-access", {}});
  Client client(common);
  auto st = client->status(true);
  if (!st) return report(common, st.error());
  auto prefs = client->prefs();
  if (!prefs) return report(common, prefs.error());
  auto plan = plan_for(args, *st, *prefs);
  if (!plan) return report(common, plan.error());
  auto diffs = prefs_differences(*plan, *prefs);
  diffs.erase(std::remove(diffs.begin(), diffs.end(), "want_running"), diffs.end());
  ts::Prefs now = *prefs;
  if (!diffs.empty()) {
    auto after = apply_plan(client, *plan, *prefs, st->version);
    if (!after) return report(common, after.error());
    now = std::move(*after);
    if (auto st2 = client->status(true)) *st = std::move(*st2);  // the node the daemon chose, by name
  }
  Json rec = base_record("set");
  rec["changed"] = !diffs.empty();
  rec["changes"] = diffs;
  rec["exit_node"] = exit_node_json(now, *st);
  if (common.json) core::emit_record(rec);
  else core::write_stdout(text_of(rec));
  return 0;
}

}  // namespace tb::cmd
