// The fake's exit-node choice: GET/POST suggest-exit-node and Prefs.AutoExitNode (docs/localapi.md,
// "Ping and exit-node suggestions"). tailscaled 1.102 (ipn/ipnlocal/local.go suggestExitNode)
// suggests among reachable peers that offer an exit node, keeping the previous suggestion while it
// stays a candidate; with AutoExitNode set it uses the suggestion as ExitNodeID, and "auto:any"
// (unresolvedExitNodeID, a blackhole) while there is none. The fake does the same without DERP
// latencies: the previous suggestion if still online, else the first online option by key.

#include <cstdio>

#include "support.hpp"

namespace tb::fake {

namespace {
// Daemons from 1.86 have AutoExitNode; older ones ignore the field (Go drops unknown JSON keys).
bool has_auto(const std::string& version) {
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 1 || (major == 1 && minor >= 86);
}
}  // namespace

std::string Daemon::suggestion_locked() {
  auto candidate = [](const Json& p) { return p.value("ExitNodeOption", false) && p.value("Online", false); };
  for (const auto& [k, p] : peers_)
    if (!last_suggested_.empty() && p.value("ID", "") == last_suggested_ && candidate(p)) return last_suggested_;
  last_suggested_.clear();
  for (const auto& [k, p] : peers_)
    if (candidate(p)) return last_suggested_ = p.value("ID", "");
  return "";
}

Reply Daemon::suggest_exit_node() {
  std::lock_guard lk(mu_);
  // Without a netmap there is no preferred DERP either (ErrNoPreferredDERP, WriteErrorJSON).
  if (state_ != "Running" && state_ != "Starting")
    return json_reply(500, go_compact(Json{{"error", "no preferred DERP, try again later"}}) + "\n");
  std::string id = suggestion_locked();
  Json r{{"ID", id}, {"Name", ""}};
  for (const auto& [k, p] : peers_)
    if (!id.empty() && p.value("ID", "") == id) {
      r["Name"] = p.value("DNSName", "");
      if (p.contains("Location") && p["Location"].is_object()) r["Location"] = p["Location"];
    }
  return json_reply(200, go_compact(r) + "\n");
}

// PATCH prefs: AutoExitNodeSet (1.86+). Setting ExitNodeID or ExitNodeIP without it ends the
// automatic choice (LocalBackend.EditPrefs).
void Daemon::patch_auto_exit_node_locked(const Json& mp, Json& next) {
  if (!has_auto(version_)) return;
  bool auto_set = mp.value("AutoExitNodeSet", false);
  std::string expr = auto_set ? mp.value("AutoExitNode", "") : next.value("AutoExitNode", "");
  if (!auto_set && (mp.value("ExitNodeIDSet", false) || mp.value("ExitNodeIPSet", false))) expr.clear();
  // Go's Prefs key order: AutoExitNode (omitempty) right after ExitNodeIP.
  Json out = Json::object();
  for (auto& [k, v] : next.items()) {
    if (k == "AutoExitNode") continue;
    out[k] = v;
    if (k == "ExitNodeIP" && !expr.empty()) out["AutoExitNode"] = expr;
  }
  next = std::move(out);
}

// With AutoExitNode set, ExitNodeID follows the suggestion (called where the exit node is updated).
void Daemon::resolve_auto_exit_node_locked() {
  if (prefs_.value("AutoExitNode", "").empty()) return;
  std::string id = suggestion_locked();
  prefs_["ExitNodeID"] = id.empty() ? "auto:any" : id;
  prefs_["ExitNodeIP"] = "";
}

}  // namespace tb::fake
