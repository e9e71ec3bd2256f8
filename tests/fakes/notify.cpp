// watch-ipn-bus: Notify lines (docs/localapi.md, "Notify objects"), who gets which, and the
// watcher queues the HTTP side drains.

#include <algorithm>

#include "support.hpp"

namespace tb::fake {

Json Daemon::health_state_locked() const {
  auto h = health_locked();
  if (h.empty()) return Json{{"Warnings", nullptr}};
  // Warnables that impact connectivity in tailscale.com v1.102.5 (health/warnings.go and the
  // packages that register one), with their severity: an action's {"code": …} picks one.
  static const std::map<std::string, std::string> kImpacting = {
      {"network-status", "medium"}, {"no-derp-home", "medium"},         {"no-udp4-bind", "medium"},
      {"dns-forward-failing", "medium"}, {"state-store-health", "high"}, {"captive-portal-detected", "high"}};
  std::map<std::string, Json> sorted;
  for (const auto& [code, text] : h) {
    Json w;
    auto known = kImpacting.find(code);
    w["WarnableCode"] = code;
    w["Severity"] = known != kImpacting.end() ? known->second : code == "wantrunning-false" ? "low" : "medium";
    w["Title"] = code == "login-state" ? "Logged out" : code == "wantrunning-false" ? "Tailscale off" : "Warning";
    w["Text"] = text;
    w["BrokenSince"] = now_utc();
    // login-state (medium) and wantrunning-false (low) do not impact connectivity (as the real
    // daemon says: tests/tailnet/ts-status-check-real.sh).
    w["ImpactsConnectivity"] = known != kImpacting.end();
    sorted[code] = w;
  }
  Json warnings = Json::object();
  for (auto& [k, v] : sorted) warnings[k] = v;
  return Json{{"Warnings", warnings}};
}

std::string Daemon::line_locked(const Note& n) const {
  Json j = Json::object();
  j["Version"] = version_;
  if (!n.session_id.empty()) j["SessionID"] = n.session_id;
  j["ErrMessage"] = n.err ? Json(*n.err) : Json(nullptr);
  j["LoginFinished"] = n.login_finished ? Json::object() : Json(nullptr);
  j["State"] = n.state ? Json(*n.state) : Json(nullptr);
  j["Prefs"] = n.prefs ? prefs_ : Json(nullptr);
  if (!n.initial_status.is_null()) j["InitialStatus"] = n.initial_status;
  j["NetMap"] = n.netmap;
  j["Engine"] = nullptr;
  j["BrowseToURL"] = n.browse ? Json(*n.browse) : Json(nullptr);
  j["DriveShares"] = nullptr;
  if (n.health) j["Health"] = health_state_locked();  // after DriveShares, as in ipn.Notify
  return go_compact(j) + "\n";
}

void Daemon::emit_locked(const Note& n) {
  std::string plain, with_health;
  for (auto& w : watchers_) {
    bool h = n.health;
    if (h && !(w->mask & 128)) {
      // Health-only notes go to watchers that asked for health; others get the rest, if any.
      if (!n.err && !n.login_finished && !n.state && !n.prefs && !n.browse) continue;
      h = false;
    }
    std::string& line = h ? with_health : plain;
    if (line.empty()) {
      Note m = n;
      m.health = h;
      line = line_locked(m);
    }
    w->lines.push_back(line);
  }
  cv_.notify_all();
}

void Daemon::emit_peer_locked(const Json& peer, bool patch_online, bool removed) {
  std::string changed, patch, gone;
  for (auto& w : watchers_) {
    if (!(w->mask & (4096 | 32768))) continue;
    std::string* line;
    Json j = Json::parse(line_locked(Note{}));
    Json out = Json::object();
    for (auto& [k, v] : j.items()) {
      if (k == "Engine") {
        if (removed) {
          out["PeersRemoved"] = Json::array({peer.value("NodeID", int64_t{0})});
        } else if (patch_online && (w->mask & 32768)) {
          Json pc = {{"NodeID", peer.value("NodeID", int64_t{0})}, {"Online", peer.value("Online", false)}};
          if (!peer.value("Online", false)) pc["LastSeen"] = peer.value("LastSeen", kZeroTime);
          out["PeerChangedPatch"] = Json::array({pc});
        } else if (w->mask & 4096) {
          out["PeersChanged"] = Json::array({node_locked(peer)});
        } else {
          out.clear();
          break;
        }
      }
      out[k] = v;
    }
    if (out.empty()) continue;
    line = removed ? &gone : (patch_online && (w->mask & 32768)) ? &patch : &changed;
    if (line->empty()) *line = go_compact(out) + "\n";
    w->lines.push_back(*line);
  }
  cv_.notify_all();
}

std::shared_ptr<Watcher> Daemon::add_watcher(uint64_t mask) {
  std::lock_guard lk(mu_);
  auto w = std::make_shared<Watcher>();
  w->mask = mask;
  Note n;
  bool any = false;
  if (mask & 2) {
    any = true;
    n.state = kStateNum.count(state_) ? kStateNum.at(state_) : 0;
    n.session_id = random_hex(32);
    if (state_ == "NeedsLogin" && !auth_url_.empty()) n.browse = auth_url_;
  }
  if (mask & 4) any = n.prefs = true;
  if (mask & 8) {
    any = true;
    n.netmap = netmap_locked();
  }
  if (mask & 128) any = n.health = true;
  if (mask & 16384) {
    any = true;
    n.initial_status = render_status_locked(true);
  }
  if (any) w->lines.push_back(line_locked(n));
  watchers_.push_back(w);
  cv_.notify_all();
  return w;
}

void Daemon::remove_watcher(const std::shared_ptr<Watcher>& w) {
  std::lock_guard lk(mu_);
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), w), watchers_.end());
  cv_.notify_all();
}

Next Daemon::next_line(Watcher& w, std::string& out, std::chrono::milliseconds wait) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, wait, [&] { return !w.lines.empty() || w.cut || w.closed; });
  if (w.closed) return Next::kClosed;
  if (!w.lines.empty()) {
    out = std::move(w.lines.front());
    w.lines.pop_front();
    return Next::kLine;
  }
  if (w.cut) return Next::kCut;
  return Next::kIdle;
}

std::string Daemon::half_line() {
  std::lock_guard lk(mu_);
  Note n;
  n.state = kStateNum.count(state_) ? kStateNum.at(state_) : 0;
  n.prefs = true;
  std::string l = line_locked(n);
  return l.substr(0, l.size() / 2);
}

bool Daemon::wait_watchers(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return watchers_.size() >= n || stopping_; }) && !stopping_;
}

}  // namespace tb::fake
