// State of the fake tailscaled: loading a scenario (a capture or a synthesised node), the request
// log, the timeline and its timers, and the small getters. The rest of Daemon is in status.cpp
// (what /status, /prefs, /whois and /ping answer), notify.cpp (watch-ipn-bus), state_machine.cpp
// (the backend state machine of docs/localapi.md, "Backend states") and actions.cpp (timeline
// steps and control requests). Every change goes through one mutex and is pushed to watchers as
// the Notify a real Linux ≥1.100 daemon would send (no runtime NetMap).

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "support.hpp"

namespace tb::fake {

namespace {

// What ipn/prefs.go emits on 1.102 (no legacy AllowSingleHosts); Config is filled from Self at load.
constexpr const char* kDefaultPrefs = R"({
  "ControlURL": "https://controlplane.tailscale.com", "RouteAll": false, "ExitNodeID": "", "ExitNodeIP": "",
  "InternalExitNodePrior": "", "ExitNodeAllowLANAccess": false, "CorpDNS": true, "RunSSH": false,
  "RunWebClient": false, "WantRunning": true, "LoggedOut": false, "ShieldsUp": false, "AdvertiseTags": null,
  "Hostname": "", "NotepadURLs": false, "AdvertiseRoutes": null, "AdvertiseServices": null, "Sync": null,
  "NoSNAT": false, "NoStatefulFiltering": true, "NetfilterMode": 2, "AutoUpdate": {"Check": true, "Apply": false},
  "AppConnector": {"Advertise": false}, "PostureChecking": false, "NetfilterKind": "", "RemoteConfig": false, "DriveShares": null,
  "Config": {"PrivateNodeKey": "privkey:0000000000000000000000000000000000000000000000000000000000000000",
    "OldPrivateNodeKey": "privkey:0000000000000000000000000000000000000000000000000000000000000000",
    "UserProfile": {"ID": 0, "LoginName": "", "DisplayName": "", "ProfilePicURL": ""},
    "NetworkLockKey": "nlpriv:0000000000000000000000000000000000000000000000000000000000000000", "NodeID": ""}})";

}  // namespace

Daemon::Daemon() : timer_thread_([this] { timer_loop(); }) {}

Daemon::~Daemon() {
  shutdown();
  if (timer_thread_.joinable()) timer_thread_.join();
  if (log_) std::fclose(log_);
}

// ---------------------------------------------------------------- scenario

Json Daemon::make_peer_locked(const std::string& name, const std::string& os, bool online) {
  int i = next_index_++;
  uint64_t seed = hash_str(suffix_) + static_cast<uint64_t>(i);
  int off = i + 1;  // 100.64.0.1 is self; skip .0 of the /10
  std::string v4 = "100." + std::to_string(64 + off / 65536) + "." + std::to_string((off / 256) % 256) + "." +
                   std::to_string(off % 256);
  std::ostringstream v6;
  v6 << "fd7a:115c:a1e0::" << std::hex << off;
  int64_t user = users_.empty() ? 0 : std::stoll(users_.begin()->first);
  if (users_.size() > 1) {  // spread peers over the users, self's user first
    auto it = users_.begin();
    std::advance(it, i % static_cast<int>(users_.size()));
    user = std::stoll(it->first);
  }
  bool direct = online && i % 3 == 0;
  static const char* relays[] = {"fra", "waw", "nyc", "sin", "sao"};
  Json p;
  p["ID"] = "n" + det_hex(seed * 7, 11) + "CNTRL";
  p["NodeID"] = static_cast<int64_t>(1000000 + i);
  p["PublicKey"] = "nodekey:" + det_hex(seed, 64);
  p["HostName"] = name;
  p["DNSName"] = name + "." + suffix_ + ".";
  p["OS"] = os;
  p["UserID"] = user;
  p["TailscaleIPs"] = Json::array({v4, v6.str()});
  p["AllowedIPs"] = Json::array({v4 + "/32", v6.str() + "/128"});
  p["Addrs"] = nullptr;
  p["CurAddr"] = direct ? "203.0.113." + std::to_string(i % 250 + 1) + ":41641" : "";
  p["Relay"] = relays[i % 5];
  p["PeerRelay"] = "";
  p["RxBytes"] = online ? 1000 * i : 0;
  p["TxBytes"] = online ? 1500 * i : 0;
  p["Created"] = "2026-01-01T00:00:00Z";
  p["LastWrite"] = online ? now_local() : kZeroTime;
  p["LastSeen"] = online ? kZeroTime : "2026-11-20T01:00:00.1Z";
  p["LastHandshake"] = online ? now_local() : kZeroTime;
  p["Online"] = online;
  p["ExitNode"] = false;
  p["ExitNodeOption"] = false;
  p["Active"] = online && i % 2 == 1;
  p["PeerAPIURL"] = online ? Json::array({"http://" + v4 + ":41112"}) : Json(nullptr);
  p["TaildropTarget"] = online ? 1 : 5;
  p["NoFileSharingReason"] = "";
  p["InNetworkMap"] = true;
  p["InMagicSock"] = true;
  p["InEngine"] = true;
  p["KeyExpiry"] = "2027-05-01T12:00:00Z";
  return p;
}

void Daemon::load(const Json& sc, const std::string& scenario_dir, const std::string& fixtures_dir) {
  std::lock_guard lk(mu_);
  auto resolve = [&](const std::string& rel) {
    if (!rel.empty() && rel[0] == '/') return rel;
    for (const auto& dir : {scenario_dir, fixtures_dir, fixtures_dir + "/localapi"}) {
      std::string p = dir + "/" + rel;
      if (std::ifstream(p)) return p;
    }
    throw std::runtime_error("fixture not found: " + rel);
  };
  suffix_ = sc.value("suffix", suffix_);
  Json st;
  if (sc.contains("status")) {
    st = read_json_file(resolve(sc["status"].get<std::string>()));
    std::string sfx = st.value("MagicDNSSuffix", "");
    if (!sfx.empty()) suffix_ = sfx;
  } else {
    st = synthesised_status_locked(sc);
  }
  split_status_locked(st);
  if (!base_.contains("Version")) base_["Version"] = version_;
  version_ = sc.value("version", base_.value("Version", version_));
  base_["Version"] = version_;
  cap_ = sc.value("cap", cap_);
  state_ = sc.value("state", base_.value("BackendState", std::string("Running")));
  auth_url_ = sc.value("auth_url", base_.value("AuthURL", std::string()));
  logged_in_ = state_ != "NeedsLogin" && state_ != "NoState";
  machine_auth_required_ = sc.value("needs_machine_auth", false);
  starting_ms_ = sc.value("starting_ms", 0);
  so_mark_ = sc.value("so_mark", true);
  if (sc.contains("dns_config")) dns_config_ = sc["dns_config"];
  if (base_.contains("Health") && base_["Health"].is_array())
    for (const auto& h : base_["Health"])
      if (h.is_string()) health_.emplace_back("custom-" + std::to_string(health_.size()), h.get<std::string>());
  if (sc.contains("health")) {
    health_.clear();
    for (const auto& h : sc["health"])
      health_.emplace_back("custom-" + std::to_string(health_.size()), h.get<std::string>());
  }
  std::string perm = sc.value("permissions", "rw");
  perm_ = perm == "readonly" ? Perm::kReadOnly : perm == "none" ? Perm::kNone : Perm::kReadWrite;

  next_index_ = static_cast<int>(peers_.size()) + 1;
  int n = sc.value("generate_peers", sc.contains("status") ? 0 : 3);
  static const char* oses[] = {"linux", "windows", "macOS", "iOS", "android", "linux", "freebsd"};
  for (int i = 1; i <= n; ++i) {
    // Every fourth peer is offline so `status` shows a realistic mix.
    Json p = make_peer_locked("peer" + std::to_string(i), oses[i % 7], i % 4 != 0);
    peers_[p["PublicKey"].get<std::string>()] = p;
  }

  load_prefs_locked(sc, resolve);
  key_login_ms_ = sc.value("key_login_ms", key_login_ms_);
  update_exit_node_locked();
  if (sc.contains("timeline")) timeline_ = sc["timeline"];
}

// A synthesised 1.102 Linux node: self, three users, no peers yet (load adds them).
Json Daemon::synthesised_status_locked(const Json& sc) {
  const std::string self_name = sc.value("self_name", "fake-self");
  Json st = Json::parse(R"({"Version":"","TUN":true,"BackendState":"Running","HaveNodeKey":true,"AuthURL":"",
    "TailscaleIPs":["100.64.0.1","fd7a:115c:a1e0::1"],"Self":null,"Health":[],"MagicDNSSuffix":"",
    "CurrentTailnet":null,"CertDomains":null,"ExtraRecords":null,"Peer":null,"User":null,
    "ClientVersion":{"RunningLatest":true}})");
  st["Version"] = version_;
  st["MagicDNSSuffix"] = suffix_;
  st["CurrentTailnet"] = {{"Name", sc.value("tailnet", "example.github")}, {"MagicDNSSuffix", suffix_},
                          {"MagicDNSEnabled", true}};
  st["CertDomains"] = Json::array({self_name + "." + suffix_});
  Json users = Json::object();
  const char* names[][2] = {{"alice@example.com", "Alice Example"}, {"bob@example.com", "Bob <Ops> & Co"},
                            {"paweł@example.com", "Paweł"}};
  for (int u = 0; u < 3; ++u) {
    int64_t id = 7324756747571594LL + u * 1111;
    users[std::to_string(id)] = {{"ID", id}, {"LoginName", names[u][0]}, {"DisplayName", names[u][1]},
                                 {"ProfilePicURL", ""}};
  }
  st["User"] = users;
  for (auto& [k, v] : users.items()) users_[k] = v;
  next_index_ = 0;
  Json self = make_peer_locked(self_name, "linux", true);
  self["UserID"] = 7324756747571594LL;
  self["TailscaleIPs"] = st["TailscaleIPs"];
  self["AllowedIPs"] = Json::array({"100.64.0.1/32", "fd7a:115c:a1e0::1/128"});
  self["Addrs"] = Json::array({"198.51.100.7:41641", "192.168.1.20:41641"});
  self["CurAddr"] = "";
  self["Relay"] = "fra";
  self["LastWrite"] = self["LastSeen"] = self["LastHandshake"] = kZeroTime;
  self["Active"] = false;
  self["InMagicSock"] = false;
  self["InEngine"] = false;
  self["TaildropTarget"] = 0;
  st["Self"] = self;
  users_.clear();
  return st;
}

// The status document into base_ (the ordered top level) and the sorted Peer and User maps, so that
// keys stay sorted bytewise like Go's map encoding.
void Daemon::split_status_locked(const Json& st) {
  // Make room for omitempty keys that can appear later (ExitNodeStatus when an exit node is chosen).
  base_ = Json::object();
  for (auto& [k, v] : st.items()) {
    if (k == "Peer") {
      if (v.is_object())
        for (auto& [pk, pv] : v.items()) peers_[pk] = pv;
    } else if (k == "User") {
      if (v.is_object())
        for (auto& [uk, uv] : v.items()) users_[uk] = uv;
    }
    base_[k] = k == "Peer" || k == "User" ? Json(nullptr) : v;
    if (k == "Self" && !st.contains("ExitNodeStatus")) base_["ExitNodeStatus"] = nullptr;
  }
}

// Prefs: built-in 1.102 defaults, a file, or an inline object; scenario edits win. Config's user
// and node come from Self; a node that is not logged in has WantRunning (and LoggedOut) to match.
void Daemon::load_prefs_locked(const Json& sc, const std::function<std::string(const std::string&)>& resolve) {
  prefs_ = Json::parse(kDefaultPrefs);
  if (sc.contains("prefs")) {
    Json p = sc["prefs"].is_string() ? read_json_file(resolve(sc["prefs"].get<std::string>())) : sc["prefs"];
    if (sc["prefs"].is_string()) prefs_ = p;
    else
      for (auto& [k, v] : p.items()) prefs_[k] = v;
  }
  if (prefs_.contains("Config") && prefs_["Config"].is_object() && base_.contains("Self") &&
      base_["Self"].is_object()) {
    const Json& self = base_["Self"];
    Json& up = prefs_["Config"]["UserProfile"];
    if (up.is_object() && up.value("ID", 0) == 0) {
      std::string uid = std::to_string(self.value("UserID", int64_t{0}));
      if (users_.count(uid)) {
        const Json& u = users_[uid];
        up = {{"ID", u.value("ID", int64_t{0})}, {"LoginName", u.value("LoginName", "")},
              {"DisplayName", u.value("DisplayName", "")}, {"ProfilePicURL", u.value("ProfilePicURL", "")}};
      }
      prefs_["Config"]["NodeID"] = self.value("ID", "");
    }
  }
  if (state_ == "Stopped" || !logged_in_) prefs_["WantRunning"] = false;
  // A node that never logged in (or logged out) says so in its prefs, like tailscaled.
  bool prefs_say_logged_out = sc.contains("prefs") && sc["prefs"].is_object() && sc["prefs"].contains("LoggedOut");
  if (!logged_in_ && !prefs_say_logged_out && !(sc.contains("prefs") && sc["prefs"].is_string())) prefs_["LoggedOut"] = true;
}

void Daemon::open_log(const std::string& path) {
  std::lock_guard lk(log_mu_);
  log_ = std::fopen(path.c_str(), "a");
  if (!log_) throw std::runtime_error("cannot open log " + path);
}

void Daemon::log_request(Json e) {
  std::lock_guard lk(log_mu_);
  if (!log_) return;
  if (e.contains("body") && e["body"].is_string()) {
    std::string b = e["body"].get<std::string>();
    if (b.empty()) {
      e["body"] = nullptr;
    } else {
      try {
        Json j = Json::parse(b);
        redact(j);
        e["body"] = j;
      } catch (const Json::exception&) {
        e["body"] = redact_text(b);
      }
    }
  }
  std::string line = redact_text(e.dump(-1, ' ', false, Json::error_handler_t::replace)) + "\n";
  std::fwrite(line.data(), 1, line.size(), log_);
  std::fflush(log_);
}

// ---------------------------------------------------------------- timeline and timers

void Daemon::start_timeline() {
  for (const auto& step : timeline_) {
    Json a = step;
    int ms = a.value("after_ms", 0);
    a.erase("after_ms");
    schedule(ms, a);
  }
}

void Daemon::schedule(int ms, Json action) {
  {
    std::lock_guard lk(mu_);
    timers_.emplace(Clock::now() + std::chrono::milliseconds(ms), std::move(action));
  }
  timer_cv_.notify_all();
}

void Daemon::timer_loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      timer_cv_.wait(lk);
      continue;
    }
    auto due = timers_.begin()->first;
    if (Clock::now() < due) {
      timer_cv_.wait_until(lk, due);
      continue;
    }
    Json a = timers_.begin()->second;
    timers_.erase(timers_.begin());
    lk.unlock();
    Reply r = apply(a);
    if (r.status >= 300) std::fprintf(stderr, "fake_tailscaled: timeline step %s: %s", a.dump().c_str(), r.body.c_str());
    lk.lock();
  }
}

void Daemon::shutdown() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    for (auto& w : watchers_) w->closed = true;
  }
  cv_.notify_all();
  timer_cv_.notify_all();
}

bool Daemon::stopping() {
  std::lock_guard lk(mu_);
  return stopping_;
}

// ---------------------------------------------------------------- simple getters

std::string Daemon::version() {
  std::lock_guard lk(mu_);
  return version_;
}
int Daemon::cap() {
  std::lock_guard lk(mu_);
  return cap_;
}
Perm Daemon::perm() {
  std::lock_guard lk(mu_);
  return perm_;
}

std::optional<Fault> Daemon::take_fault(const std::string& endpoint) {
  std::lock_guard lk(mu_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (!it->path.empty() && it->path != endpoint) continue;
    Fault f = *it;
    if (it->count > 0 && --it->count == 0) faults_.erase(it);
    return f;
  }
  return std::nullopt;
}

}  // namespace tb::fake
