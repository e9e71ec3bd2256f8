#include "libcommon/tailscale/status.hpp"

#include <algorithm>

#include "libcommon/core/time.hpp"

namespace tb::ts {

using core::get_bool;
using core::get_int;
using core::get_string;
using core::get_strings;
using core::Json;

namespace {
std::optional<int64_t> get_time(const Json& obj, std::string_view key) {
  return core::parse_rfc3339(get_string(obj, key));
}
}  // namespace

const UserProfile* Status::user(int64_t id) const {
  auto it = users.find(id);
  return it == users.end() ? nullptr : &it->second;
}

core::Result<PeerStatus> peer_status_from_json(const Json& o, std::string_view path) {
  if (!o.is_object()) return core::fail(core::ExitCode::kProtocol, std::string(path) + " is not an object");
  PeerStatus p;
  p.id = get_string(o, "ID");
  p.node_id = get_int(o, "NodeID");
  p.public_key = get_string(o, "PublicKey");
  p.host_name = get_string(o, "HostName");
  p.dns_name = get_string(o, "DNSName");
  p.os = get_string(o, "OS");
  p.user_id = get_int(o, "UserID");
  p.alt_sharer_user_id = get_int(o, "AltSharerUserID");
  p.tailscale_ips = get_strings(o, "TailscaleIPs");
  if (p.tailscale_ips.empty()) {
    // ≤1.19 had a single TailAddr.
    std::string tail_addr = get_string(o, "TailAddr");
    if (!tail_addr.empty()) p.tailscale_ips.push_back(tail_addr);
  }
  p.allowed_ips = get_strings(o, "AllowedIPs");
  p.tags = get_strings(o, "Tags");
  p.primary_routes = get_strings(o, "PrimaryRoutes");
  p.cur_addr = get_string(o, "CurAddr");
  p.relay = get_string(o, "Relay");
  p.peer_relay = get_string(o, "PeerRelay");
  p.rx_bytes = get_int(o, "RxBytes");
  p.tx_bytes = get_int(o, "TxBytes");
  p.created = get_time(o, "Created");
  p.last_write = get_time(o, "LastWrite");
  p.last_seen = get_time(o, "LastSeen");
  p.last_handshake = get_time(o, "LastHandshake");
  p.key_expiry = get_time(o, "KeyExpiry");
  p.online = get_bool(o, "Online");
  p.exit_node = get_bool(o, "ExitNode");
  p.exit_node_option = get_bool(o, "ExitNodeOption");
  p.active = get_bool(o, "Active");
  p.sharee_node = get_bool(o, "ShareeNode");
  p.in_network_map = get_bool(o, "InNetworkMap");
  p.expired = get_bool(o, "Expired");
  return p;
}

core::Result<Status> status_from_json(const Json& d) {
  if (!d.is_object()) return core::fail(core::ExitCode::kProtocol, "status: the daemon's reply is not a JSON object");
  Status s;
  s.version = get_string(d, "Version");
  s.tun = get_bool(d, "TUN", true);
  s.backend_state_raw = get_string(d, "BackendState");
  s.backend_state = backend_state_from_string(s.backend_state_raw);
  s.have_node_key = get_bool(d, "HaveNodeKey");
  s.auth_url = get_string(d, "AuthURL");
  s.tailscale_ips = get_strings(d, "TailscaleIPs");
  s.health = get_strings(d, "Health");
  s.magic_dns_suffix = get_string(d, "MagicDNSSuffix");
  s.cert_domains = get_strings(d, "CertDomains");
  if (auto it = d.find("ExtraRecords"); it != d.end() && it->is_array())
    for (const auto& r : *it)
      if (r.is_object()) s.extra_records.push_back({get_string(r, "Name"), get_string(r, "Type"), get_string(r, "Value")});

  if (const Json* self = core::get_object(d, "Self")) {
    auto p = peer_status_from_json(*self, "Self");
    if (!p) return tl::unexpected(p.error());
    s.self = std::move(*p);
    if (s.tailscale_ips.empty()) s.tailscale_ips = s.self->tailscale_ips;
  }
  // Older daemons had no HaveNodeKey: a non-zero self key means there is one.
  if (!s.have_node_key && s.self && !s.self->public_key.empty() &&
      s.self->public_key.find_first_not_of("0", s.self->public_key.find(':') + 1) != std::string::npos) {
    s.have_node_key = true;
  }
  if (const Json* ens = core::get_object(d, "ExitNodeStatus")) {
    ExitNodeStatus e;
    e.id = get_string(*ens, "ID");
    e.online = get_bool(*ens, "Online");
    e.tailscale_ips = get_strings(*ens, "TailscaleIPs");
    s.exit_node_status = std::move(e);
  }
  if (const Json* ct = core::get_object(d, "CurrentTailnet")) {
    Tailnet t;
    t.name = get_string(*ct, "Name");
    t.magic_dns_suffix = get_string(*ct, "MagicDNSSuffix");
    t.magic_dns_enabled = get_bool(*ct, "MagicDNSEnabled");
    if (s.magic_dns_suffix.empty()) s.magic_dns_suffix = t.magic_dns_suffix;
    s.current_tailnet = std::move(t);
  }
  if (const Json* peers = core::get_object(d, "Peer")) {
    s.peers.reserve(peers->size());
    for (auto it = peers->begin(); it != peers->end(); ++it) {
      auto p = peer_status_from_json(it.value(), "Peer[\"" + it.key() + "\"]");
      if (!p) return tl::unexpected(p.error());
      if (p->public_key.empty()) p->public_key = it.key();
      s.peers.push_back(std::move(*p));
    }
  }
  if (const Json* users = core::get_object(d, "User")) {
    for (auto it = users->begin(); it != users->end(); ++it) {
      if (!it.value().is_object()) continue;  // tolerate junk in a map we only use for names
      UserProfile u;
      u.id = get_int(it.value(), "ID");
      if (u.id == 0) {
        try {
          u.id = std::stoll(it.key());
        } catch (...) {
          continue;
        }
      }
      u.login_name = get_string(it.value(), "LoginName");
      u.display_name = get_string(it.value(), "DisplayName");
      s.users.emplace(u.id, std::move(u));
    }
  }
  return s;
}

core::Result<DnsConfig> parse_dns_config(std::string_view body) {
  auto doc = core::parse_json(body, core::ExitCode::kProtocol, "dns-config: tailscaled sent invalid JSON");
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->is_object()) return core::fail(core::ExitCode::kProtocol, "dns-config: the daemon's reply is not a JSON object");
  DnsConfig c;
  c.domains = get_strings(*doc, "Domains");
  // []*dnstype.Resolver: the Addr of each (BootstrapResolution and UseWithExitNode are not used).
  auto addrs = [](const Json& list) {
    std::vector<std::string> out;
    if (list.is_array())
      for (const auto& r : list)
        if (r.is_object() && !get_string(r, "Addr").empty()) out.push_back(get_string(r, "Addr"));
    return out;
  };
  if (const Json* routes = core::get_object(*doc, "Routes"))
    for (auto it = routes->begin(); it != routes->end(); ++it) {
      c.routes.push_back(it.key());
      if (auto a = addrs(it.value()); !a.empty()) c.route_resolvers[it.key()] = std::move(a);
    }
  if (auto it = doc->find("Resolvers"); it != doc->end()) c.resolvers = addrs(*it);
  std::sort(c.routes.begin(), c.routes.end());  // Go sends them sorted; a stand-in may not
  return c;
}

core::Result<Status> parse_status(std::string_view body) {
  return core::parse_json(body, core::ExitCode::kProtocol, "status: tailscaled sent invalid JSON").and_then(status_from_json);
}

}  // namespace tb::ts
