#pragma once
// ipnstate.Status and PeerStatus (docs/localapi.md, "Status and PeerStatus"), tolerant of every
// daemon from 2020 to 1.102:
//   - null where a list or map is expected ("Peer": null, "TailscaleIPs": null, "Health": null);
//   - a missing Self (2020 builds) and the 2020 "TailAddr" instead of "TailscaleIPs";
//   - unknown fields (ignored) and missing omitempty fields (defaults);
//   - IDs above 2^53 kept exact as int64 (nlohmann never turns an integer literal into a double);
//   - timestamps with Z or local offsets, 0–9 fractional digits, and Go's zero time for "never".
// A top-level value that is not an object, or a Peer entry that is not an object, is an error
// (ExitCode::kProtocol) naming the JSON path — never a crash.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/backend_state.hpp"
#include "libcommon/tailscale/health.hpp"

namespace tb::ts {

struct PeerStatus {
  std::string id;          // StableNodeID
  int64_t node_id = 0;     // 1.100+
  std::string public_key;  // "nodekey:<hex>" (base64 before 1.18)
  std::string host_name;
  std::string dns_name;    // FQDN with its trailing dot, "" when logged out
  std::string os;
  int64_t user_id = 0;
  int64_t alt_sharer_user_id = 0;
  std::vector<std::string> tailscale_ips;
  std::vector<std::string> allowed_ips;
  std::vector<std::string> tags;
  std::vector<std::string> primary_routes;
  std::string cur_addr;    // "ip:port" when direct
  std::string relay;       // DERP region code
  std::string peer_relay;  // 1.86+
  int64_t rx_bytes = 0;
  int64_t tx_bytes = 0;
  std::optional<int64_t> created, last_write, last_seen, last_handshake, key_expiry;  // Unix seconds
  bool online = false;
  bool exit_node = false;
  bool exit_node_option = false;
  bool active = false;
  bool sharee_node = false;
  bool in_network_map = false;
  bool expired = false;
};

struct UserProfile {
  int64_t id = 0;
  std::string login_name;
  std::string display_name;
};

// One of control's DNS records for the tailnet (Status.ExtraRecords): served by tailscaled's
// resolver at 100.100.100.100, like the nodes' MagicDNS names.
struct DnsRecord {
  std::string name;   // as control sent it (no trailing dot, usually)
  std::string type;   // "A", "AAAA" or "" (tailscaled infers it from the value)
  std::string value;  // an IP address for A/AAAA
};

// The netmap's DNS config as GET /localapi/v0/dns-config gives it (tailcfg.DNSConfig, tailscaled
// 1.102; older daemons answer 404, a daemon without a netmap 503): control's search domains and
// the suffixes its split-DNS routes are for (resolvers are not kept).
struct DnsConfig {
  std::vector<std::string> domains;  // DNS.Domains, as control sent them
  std::vector<std::string> routes;   // the keys of DNS.Routes, sorted bytewise
  // Each route's resolvers (dnstype.Resolver.Addr: "ip", "ip:port" or an https:// URL), for the
  // routes that have any (null: answered by MagicDNS alone), and the default Resolvers.
  std::map<std::string, std::vector<std::string>> route_resolvers;
  std::vector<std::string> resolvers;
};

struct Tailnet {
  std::string name;
  std::string magic_dns_suffix;
  bool magic_dns_enabled = false;
};

struct ExitNodeStatus {
  std::string id;
  bool online = false;
  std::vector<std::string> tailscale_ips;  // prefixes, e.g. "100.1.2.3/32"
};

struct Status {
  std::string version;
  bool tun = true;
  std::string backend_state_raw;
  BackendState backend_state = BackendState::kUnknown;
  bool have_node_key = false;
  std::string auth_url;
  std::vector<std::string> tailscale_ips;
  std::optional<PeerStatus> self;
  std::optional<ExitNodeStatus> exit_node_status;
  std::vector<std::string> health;
  // Not in the status document: the IPN bus's structured health (read_health), when read.
  std::optional<std::vector<HealthWarning>> health_warnings;
  std::string magic_dns_suffix;  // without dots
  std::optional<Tailnet> current_tailnet;
  std::vector<std::string> cert_domains;
  std::vector<DnsRecord> extra_records;  // Status.ExtraRecords (tailscaled 1.68+), else empty
  std::optional<DnsConfig> dns_config;   // not in the status document: LocalApiClient::dns_config
  std::vector<PeerStatus> peers;  // in the daemon's key order
  std::map<int64_t, UserProfile> users;

  const UserProfile* user(int64_t id) const;
};

core::Result<Status> parse_status(std::string_view body);
// A dns-config body; a value that is not an object is an error (kProtocol).
core::Result<DnsConfig> parse_dns_config(std::string_view body);
core::Result<Status> status_from_json(const core::Json& doc);
core::Result<PeerStatus> peer_status_from_json(const core::Json& obj, std::string_view path);

}  // namespace tb::ts
