// What the fake answers to /status, /prefs, /whois, /ping and check-so-mark-in-use, and the
// tailcfg.Node and NetMap views of its peers (whois, PeersChanged, the initial NetMap).

#include "support.hpp"

namespace tb::fake {

std::vector<std::pair<std::string, std::string>> Daemon::health_locked() const {
  if (state_ == "Stopped") return {{"wantrunning-false", "Tailscale is stopped."}};
  if (state_ == "NeedsLogin") {
    if (!login_error_.empty())
      return {{"login-state", "You are logged out. The last login error was: " + login_error_ + "."}};
    return {{"login-state", "You are logged out."}};
  }
  return health_;
}

Json Daemon::render_status_locked(bool with_peers) const {
  const bool out = !logged_in_;
  const bool netmap = logged_in_ && state_ != "NeedsMachineAuth";
  Json self_user;
  std::string self_uid;
  if (base_.contains("Self") && base_["Self"].is_object())
    self_uid = std::to_string(base_["Self"].value("UserID", int64_t{0}));
  Json st = Json::object();
  for (const auto& [k, v] : base_.items()) {
    if (k == "BackendState") {
      st[k] = state_;
    } else if (k == "HaveNodeKey") {
      if (!out) st[k] = true;
    } else if (k == "AuthURL") {
      st[k] = auth_url_;
    } else if (k == "Health") {
      Json h = Json::array();
      for (const auto& [code, text] : health_locked()) h.push_back(text);
      st[k] = h;
    } else if (k == "Self" && out && v.is_object()) {
      Json s = v;
      s["ID"] = "";
      s["PublicKey"] = kZeroKey;
      s["DNSName"] = "";
      s["UserID"] = 0;
      s["TailscaleIPs"] = nullptr;
      for (const char* gone : {"AllowedIPs", "Capabilities", "CapMap", "KeyExpiry", "Tags", "PrimaryRoutes"})
        s.erase(gone);
      if (s.contains("NodeID")) s["NodeID"] = 0;
      s["CurAddr"] = "";
      s["Relay"] = "";
      s["Created"] = kZeroTime;
      s["Online"] = false;
      s["PeerAPIURL"] = nullptr;
      s["InNetworkMap"] = false;
      st[k] = s;
    } else if (k == "ExitNodeStatus") {
      if (!v.is_null() && netmap) st[k] = v;
    } else if (out && (k == "TailscaleIPs" || k == "CurrentTailnet" || k == "CertDomains")) {
      st[k] = nullptr;
    } else if (out && k == "MagicDNSSuffix") {
      st[k] = "";
    } else if (k == "Peer") {
      if (with_peers && netmap && !peers_.empty()) {
        Json p = Json::object();
        for (const auto& [pk, pv] : peers_) p[pk] = pv;
        st[k] = p;
      } else {
        st[k] = nullptr;
      }
    } else if (k == "User") {
      Json u = Json::object();
      if (!out)
        for (const auto& [uk, uv] : users_)
          if (with_peers && netmap ? true : uk == self_uid) u[uk] = uv;
      st[k] = u.empty() ? Json(nullptr) : u;
    } else {
      st[k] = v;
    }
  }
  return st;
}

Reply Daemon::status(bool with_peers) {
  std::lock_guard lk(mu_);
  return json_reply(200, go_indent(render_status_locked(with_peers)) + "\n");
}

Reply Daemon::get_prefs() {
  std::lock_guard lk(mu_);
  return json_reply(200, go_indent(prefs_) + "\n");
}

Reply Daemon::so_mark() {
  std::lock_guard lk(mu_);
  return json_reply(200, std::string("{\"UseSOMark\":") + (so_mark_ ? "true" : "false") + "}\n");
}

// GET dns-config (tailscaled 1.102): the netmap's DNS config, 503 without a netmap.
Reply Daemon::dns_config() {
  std::lock_guard lk(mu_);
  if (!logged_in_) return text_reply(503, "no netmap");
  Json c = dns_config_;
  if (c.is_null()) c = Json{{"Domains", Json::array({suffix_})}, {"Proxied", true}};
  return json_reply(200, go_indent(c) + "\n");
}

// ---------------------------------------------------------------- nodes (whois, PeersChanged, NetMap)

Json Daemon::node_locked(const Json& ps) const {
  std::string key = ps.value("PublicKey", kZeroKey);
  std::string hex = key.size() > 8 ? key.substr(8) : std::string(64, '0');
  Json n;
  n["ID"] = ps.contains("NodeID") ? ps["NodeID"] : Json(static_cast<int64_t>(hash_str(ps.value("ID", "")) >> 20));
  n["StableID"] = ps.value("ID", "");
  n["Name"] = ps.value("DNSName", "");
  n["User"] = ps.value("UserID", int64_t{0});
  n["Key"] = key;
  if (ps.contains("KeyExpiry")) n["KeyExpiry"] = ps["KeyExpiry"];
  n["Machine"] = "mkey:" + det_hex(hash_str(hex), 64);
  n["DiscoKey"] = "discokey:" + det_hex(hash_str(hex) + 1, 64);
  Json addrs = Json::array();
  if (ps.contains("TailscaleIPs") && ps["TailscaleIPs"].is_array())
    for (const auto& ip : ps["TailscaleIPs"]) addrs.push_back(ip_prefix(ip.get<std::string>()));
  n["Addresses"] = addrs;
  n["AllowedIPs"] = ps.contains("AllowedIPs") ? ps["AllowedIPs"] : addrs;
  std::string cur = ps.value("CurAddr", "");
  n["Endpoints"] = cur.empty() ? Json(nullptr) : Json::array({cur});
  std::string relay = ps.value("Relay", "");
  n["HomeDERP"] = kDerpIds.count(relay) ? kDerpIds.at(relay) : 0;
  n["Hostinfo"] = {{"OS", ps.value("OS", "")}, {"Hostname", ps.value("HostName", "")}};
  n["Created"] = ps.value("Created", kZeroTime);
  n["Cap"] = 142;
  if (ps.contains("Tags")) n["Tags"] = ps["Tags"];
  if (ps.contains("PrimaryRoutes")) n["PrimaryRoutes"] = ps["PrimaryRoutes"];
  if (!ps.value("Online", false) && ps.value("LastSeen", kZeroTime) != kZeroTime) n["LastSeen"] = ps["LastSeen"];
  n["Online"] = ps.value("Online", false);
  n["MachineAuthorized"] = true;
  std::string name = ps.value("DNSName", "");
  std::string computed = name.substr(0, name.find('.'));
  n["ComputedName"] = computed;
  n["ComputedNameWithHost"] = computed;
  return n;
}

Json Daemon::netmap_locked() const {
  if (!logged_in_ || !base_.contains("Self")) return nullptr;
  Json nm;
  nm["SelfNode"] = node_locked(base_["Self"]);
  nm["NodeKey"] = base_["Self"].value("PublicKey", kZeroKey);
  Json peers = Json::array();
  for (const auto& [k, p] : peers_) peers.push_back(node_locked(p));
  nm["Peers"] = peers;
  nm["Domain"] = base_.contains("CurrentTailnet") && base_["CurrentTailnet"].is_object()
                     ? base_["CurrentTailnet"].value("Name", "")
                     : "";
  Json profiles = Json::object();
  for (const auto& [k, u] : users_) profiles[k] = u;
  nm["UserProfiles"] = profiles;
  return nm;
}

Json* Daemon::find_peer_locked(const std::string& name, std::string* key) {
  for (auto& [k, p] : peers_) {
    std::string dns = p.value("DNSName", "");
    bool ip = false;
    if (p.contains("TailscaleIPs") && p["TailscaleIPs"].is_array())
      for (const auto& a : p["TailscaleIPs"]) ip = ip || a == name;
    if (k == name || p.value("ID", "") == name || p.value("HostName", "") == name || dns == name ||
        dns.substr(0, dns.find('.')) == name || ip) {
      if (key) *key = k;
      return &p;
    }
  }
  return nullptr;
}

void Daemon::update_exit_node_locked() {
  resolve_auto_exit_node_locked();
  std::string id = prefs_.value("ExitNodeID", "");
  std::string ip = prefs_.value("ExitNodeIP", "");
  if (!ip.empty()) {  // the daemon resolves ExitNodeIP to an ID
    if (Json* p = find_peer_locked(ip)) {
      id = p->value("ID", "");
      prefs_["ExitNodeID"] = id;
      prefs_["ExitNodeIP"] = "";
    }
  }
  Json status = nullptr;
  for (auto& [k, p] : peers_) {
    bool is = !id.empty() && p.value("ID", "") == id;
    p["ExitNode"] = is;
    if (is) {
      Json ips = Json::array();
      if (p["TailscaleIPs"].is_array())
        for (const auto& a : p["TailscaleIPs"]) ips.push_back(ip_prefix(a.get<std::string>()));
      status = {{"ID", id}, {"Online", p.value("Online", false)}, {"TailscaleIPs", ips}};
    }
  }
  if (base_.contains("ExitNodeStatus")) base_["ExitNodeStatus"] = status;
}

// ---------------------------------------------------------------- whois, ping

Reply Daemon::whois(const std::string& addr) {
  if (addr.empty()) return text_reply(400, "missing 'addr' parameter");
  std::lock_guard lk(mu_);
  const Json* found = nullptr;
  auto has_ip = [](const Json& p, const std::string& ip) {
    if (p.contains("TailscaleIPs") && p["TailscaleIPs"].is_array())
      for (const auto& a : p["TailscaleIPs"])
        if (a == ip) return true;
    return false;
  };
  if (addr.rfind("nodekey:", 0) == 0) {
    if (addr.size() != 72) return text_reply(400, "invalid 'addr' parameter");
    if (peers_.count(addr)) found = &peers_.at(addr);
    else if (logged_in_ && base_.contains("Self") && base_["Self"].value("PublicKey", "") == addr) found = &base_["Self"];
  } else {
    std::string ip = addr;
    if (!parse_ip(ip)) {  // ip:port or [v6]:port
      auto colon = addr.rfind(':');
      if (colon == std::string::npos) return text_reply(400, "invalid 'addr' parameter");
      ip = addr.substr(0, colon);
      std::string port = addr.substr(colon + 1);
      if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
      if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || !parse_ip(ip))
        return text_reply(400, "invalid 'addr' parameter");
    }
    if (logged_in_ && base_.contains("Self") && has_ip(base_["Self"], ip)) found = &base_["Self"];
    if (logged_in_)
      for (const auto& [k, p] : peers_)
        if (!found && has_ip(p, ip)) found = &p;
  }
  if (!found) return text_reply(404, "no match for IP:port");
  Json res;
  res["Node"] = node_locked(*found);
  std::string uid = std::to_string(found->value("UserID", int64_t{0}));
  Json up = users_.count(uid) ? users_.at(uid) : Json{{"ID", 0}, {"LoginName", ""}, {"DisplayName", ""}};
  res["UserProfile"] = up;
  res["CapMap"] = nullptr;
  return json_reply(200, go_indent(res));
}

Reply Daemon::ping(const std::string& ip, const std::string& type) {
  if (ip.empty()) return text_reply(400, "missing 'ip' parameter");
  if (!parse_ip(ip)) return text_reply(400, "invalid IP");
  if (type.empty()) return text_reply(400, "missing 'type' parameter");
  if (type != "disco" && type != "TSMP" && type != "ICMP" && type != "peerapi")
    return text_reply(400, "invalid 'type' parameter");
  std::lock_guard lk(mu_);
  if (state_ != "Running" && state_ != "Starting")
    return json_reply(500, go_compact(Json{{"error", "no netmap"}}) + "\n");
  Json r;
  r["IP"] = ip;
  Json* p = find_peer_locked(ip);
  if (!p) {
    r["Err"] = "no matching peer";
    r["LatencySeconds"] = 0;
  } else if (!p->value("Online", false)) {
    r["NodeIP"] = ip;
    r["NodeName"] = p->value("HostName", "");
    r["Err"] = "timeout";
    r["LatencySeconds"] = 0;
  } else {
    std::string cur = p->value("CurAddr", "");
    std::string relay = p->value("Relay", "");
    std::string dns = p->value("DNSName", "");
    r["NodeIP"] = (*p)["TailscaleIPs"][0];
    r["NodeName"] = dns.substr(0, dns.find('.'));
    r["LatencySeconds"] = cur.empty() ? 0.0421 : 0.0123;
    if (type == "disco") {
      r["Endpoint"] = cur;
      if (cur.empty()) {
        r["DERPRegionID"] = kDerpIds.count(relay) ? kDerpIds.at(relay) : 0;
        r["DERPRegionCode"] = relay;
      }
    }
    if (type == "peerapi") r["PeerAPIURL"] = "http://" + ip + ":41112";
  }
  // Go's PingResult (ipn/ipnstate/ipnstate.go): IP, NodeIP, NodeName, Err, LatencySeconds, Endpoint,
  // PeerRelay, DERPRegionID, DERPRegionCode always (zero values too); PeerAPIPort, PeerAPIURL,
  // IsLocalIP only when set (omitempty).
  Json out;
  for (const char* k : {"IP", "NodeIP", "NodeName", "Err"}) out[k] = r.contains(k) ? r[k] : Json("");
  out["LatencySeconds"] = r.contains("LatencySeconds") ? r["LatencySeconds"] : Json(0);
  for (const char* k : {"Endpoint", "PeerRelay"}) out[k] = r.contains(k) ? r[k] : Json("");
  out["DERPRegionID"] = r.contains("DERPRegionID") ? r["DERPRegionID"] : Json(0);
  out["DERPRegionCode"] = r.contains("DERPRegionCode") ? r["DERPRegionCode"] : Json("");
  if (r.contains("PeerAPIURL")) out["PeerAPIURL"] = r["PeerAPIURL"];
  return json_reply(200, go_compact(out) + "\n");
}

}  // namespace tb::fake
