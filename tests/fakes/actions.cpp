// Timeline steps and control requests (README.md "Actions"): state, health, permissions, peers,
// faults, cut streams, a visited auth URL, an approved machine, the daemon going away and back.

#include <optional>
#include <string>

#include "support.hpp"

namespace tb::fake {

Json Daemon::summary() {
  std::lock_guard lk(mu_);
  Json s;
  s["state"] = state_;
  s["logged_in"] = logged_in_;
  s["auth_url"] = auth_url_;
  s["permissions"] = perm_ == Perm::kReadWrite ? "rw" : perm_ == Perm::kReadOnly ? "readonly" : "none";
  s["peers"] = peers_.size();
  s["watchers"] = watchers_.size();
  s["away"] = away_;
  s["pending_faults"] = faults_.size();
  Json h = Json::array();
  for (const auto& [c, t] : health_locked()) h.push_back(t);
  s["health"] = h;
  return s;
}

Reply Daemon::apply(const Json& action) {
  bool go_away = false, come_back = false;
  Reply r;
  {
    std::lock_guard lk(mu_);
    r = apply_locked(action, go_away, come_back);
  }
  // Listeners are stopped and started without the lock: their worker threads may be waiting on it.
  if (go_away && hooks_.go_away) hooks_.go_away();
  if (come_back && hooks_.come_back) hooks_.come_back();
  if (r.status == 200 && r.body.empty()) return json_reply(200, summary().dump() + "\n");
  return r;
}

Reply Daemon::apply_locked(const Json& a, bool& go_away, bool& come_back) {
  if (!a.is_object()) return text_reply(400, "action must be a JSON object");
  auto old_health = health_locked();
  try {
    // In this order, each stopping at its first error (the changes before it stay).
    if (auto err = apply_state_locked(a)) return *err;
    if (auto err = apply_peers_locked(a)) return *err;
    if (auto err = apply_faults_locked(a)) return *err;
    if (auto err = apply_presence_locked(a, go_away, come_back)) return *err;
  } catch (const Json::exception& e) {
    return text_reply(400, std::string("bad action: ") + e.what());
  }
  after_change_locked(old_health);
  return Reply{200, "application/json", ""};
}

// Timers of the state machine, and the backend state, health and permissions a test sets.
std::optional<Reply> Daemon::apply_state_locked(const Json& a) {
  auto bad = [](const std::string& m) { return text_reply(400, m); };
  if (a.contains("_finish_start")) {
    if (state_ == "Starting") set_state_locked("Running");
  }
  if (a.contains("_key_login") && !pending_key_.empty() && a["_key_login"] == pending_gen_)
    key_login_locked(pending_key_, pending_key_off_);
  if (a.contains("state")) {
    std::string s = a["state"];
    if (!kStateNum.count(s)) return bad("unknown state " + s);
    if (s == "NeedsLogin" || s == "NoState") logged_in_ = false;
    else logged_in_ = true;
    if (s == "Stopped") prefs_["WantRunning"] = false;
    if (s == "Running" || s == "Starting") prefs_["WantRunning"] = true;
    set_state_locked(s);
  }
  if (a.contains("dns_config")) dns_config_ = a["dns_config"];
  if (a.contains("health")) {
    health_.clear();
    for (const auto& h : a["health"]) {
      if (h.is_object()) health_.emplace_back(h.value("code", "custom"), h.value("text", ""));
      else health_.emplace_back("custom-" + std::to_string(health_.size()), h.get<std::string>());
    }
  }
  if (a.contains("permissions")) {
    std::string m = a["permissions"];
    if (m != "rw" && m != "readonly" && m != "none") return bad("permissions: rw, readonly or none");
    perm_ = m == "readonly" ? Perm::kReadOnly : m == "none" ? Perm::kNone : Perm::kReadWrite;
  }
  return std::nullopt;
}

// Peers changed, added or removed.
std::optional<Reply> Daemon::apply_peers_locked(const Json& a) {
  auto bad = [](const std::string& m) { return text_reply(400, m); };
  if (a.contains("peer"))
    if (auto err = edit_peer_locked(a["peer"])) return err;
  if (a.contains("add_peer")) {
    const Json& ap = a["add_peer"].is_string() ? Json{{"name", a["add_peer"]}} : a["add_peer"];
    std::string name = ap.value("name", "");
    if (name.empty()) return bad("add_peer needs a name");
    if (find_peer_locked(name)) return bad("peer exists: " + name);
    Json p = make_peer_locked(name, ap.value("os", "linux"), ap.value("online", true));
    for (auto& [k, v] : ap.items())
      if (p.contains(k) || k == "Location") p[k] = v;  // Location: tailcfg.Location, omitempty
    peers_[p["PublicKey"].get<std::string>()] = p;
    emit_peer_locked(p, false, false);
  }
  if (a.contains("remove_peer")) {
    std::string name = a["remove_peer"].is_string() ? a["remove_peer"].get<std::string>()
                                                    : a["remove_peer"].value("name", "");
    std::string key;
    Json* p = find_peer_locked(name, &key);
    if (!p) return text_reply(404, "no such peer: " + name);
    Json gone = *p;
    peers_.erase(key);
    update_exit_node_locked();
    emit_peer_locked(gone, false, true);
  }
  return std::nullopt;
}

namespace {
// A sole subnet router's approved routes are its PrimaryRoutes, and control puts them into its
// AllowedIPs after its addresses; PeerStatus shows both (docs/localapi.md, "Status and PeerStatus").
void routes_into_allowed_ips(Json& p) {
  Json a = Json::array();
  if (p.contains("TailscaleIPs") && p["TailscaleIPs"].is_array())
    for (const auto& ip : p["TailscaleIPs"]) {
      std::string s = ip.get<std::string>();
      a.push_back(s + (s.find(':') == std::string::npos ? "/32" : "/128"));
    }
  if (p["PrimaryRoutes"].is_array())
    for (const auto& r : p["PrimaryRoutes"]) a.push_back(r);
  p["AllowedIPs"] = std::move(a);
}
}  // namespace

// One peer's change (control /peer, timeline "peer"): online, a direct or relayed path, activity,
// counters and other PeerStatus fields; watchers get a PeersChanged or PeerChangedPatch.
std::optional<Reply> Daemon::edit_peer_locked(const Json& pa) {
  std::string name = pa.value("name", "");
  Json* p = find_peer_locked(name);
  if (!p) return text_reply(404, "no such peer: " + name);
  bool online_change = false, other = false;
  if (pa.contains("online")) {
    bool on = pa["online"];
    online_change = on != p->value("Online", false);
    (*p)["Online"] = on;
    if (!on) {
      (*p)["Active"] = false;
      (*p)["CurAddr"] = "";
      (*p)["LastSeen"] = now_utc();
      (*p)["TaildropTarget"] = 5;
    } else {
      (*p)["TaildropTarget"] = 1;
    }
  }
  if (pa.contains("direct")) {
    std::string d = pa["direct"].is_string() ? pa["direct"].get<std::string>() : "203.0.113.9:41641";
    (*p)["CurAddr"] = d;
    (*p)["Active"] = true;
    (*p)["LastHandshake"] = (*p)["LastWrite"] = now_local();
    other = true;
  }
  if (pa.contains("relay")) {
    (*p)["CurAddr"] = "";
    if (pa["relay"].is_string()) (*p)["Relay"] = pa["relay"];
    (*p)["Active"] = true;
    (*p)["LastWrite"] = now_local();
    other = true;
  }
  if (pa.contains("active")) {
    (*p)["Active"] = pa["active"].get<bool>();
    other = true;
  }
  for (const char* k : {"RxBytes", "TxBytes", "ExitNodeOption", "OS", "Tags", "PrimaryRoutes", "KeyExpiry",
                        "Expired", "AllowedIPs", "Location"})
    if (pa.contains(k)) {
      (*p)[k] = pa[k];
      other = true;
    }
  if (pa.contains("PrimaryRoutes") && !pa.contains("AllowedIPs")) routes_into_allowed_ips(*p);
  update_exit_node_locked();
  if (online_change || other) emit_peer_locked(*p, online_change && !other, false);
  return std::nullopt;
}

// Faults of the next requests, and streams cut mid-line.
std::optional<Reply> Daemon::apply_faults_locked(const Json& a) {
  auto bad = [](const std::string& m) { return text_reply(400, m); };
  if (a.contains("fault")) {
    const Json& f = a["fault"];
    Fault ft;
    ft.kind = f.value("kind", "");
    if (ft.kind != "slow" && ft.kind != "403" && ft.kind != "500" && ft.kind != "garbage")
      return bad("fault kind: slow, 403, 500 or garbage");
    ft.ms = f.value("ms", 0);
    ft.count = f.value("count", 1);
    ft.path = f.value("path", "");
    ft.body = f.value("body", "");
    faults_.push_back(ft);
  }
  if (a.contains("clear_faults")) faults_.clear();
  if (a.value("cut_streams", false)) {
    for (auto& w : watchers_) w->cut = true;
    cv_.notify_all();
  }
  return std::nullopt;
}

// A visited auth URL, an approved machine, the daemon going away and coming back (the caller
// stops and starts the listeners outside the lock).
std::optional<Reply> Daemon::apply_presence_locked(const Json& a, bool& go_away, bool& come_back) {
  if (a.value("visit_auth_url", false)) {
    if (auth_url_.empty()) return text_reply(409, "no pending auth URL");
    prefs_["WantRunning"] = true;
    login_done_locked();
  }
  if (a.value("approve_machine", false)) {
    machine_auth_required_ = false;
    if (state_ == "NeedsMachineAuth") go_running_locked();
  }
  if (a.contains("go_away")) {
    if (!away_) {
      away_ = true;
      go_away = true;
      for (auto& w : watchers_) w->closed = true;
      cv_.notify_all();
    }
    const Json& g = a["go_away"];
    int back = g.is_object() ? g.value("back_after_ms", -1) : g.is_number() ? g.get<int>() : -1;
    if (back >= 0) {
      timers_.emplace(Clock::now() + std::chrono::milliseconds(back), Json{{"come_back", true}});
      timer_cv_.notify_all();
    }
  }
  if (a.value("come_back", false) && away_) {
    away_ = false;
    come_back = true;
  }
  return std::nullopt;
}

}  // namespace tb::fake
