#pragma once
// What the router is asked (Request, mirroring sing-box's InboundContext) and what it answers
// (Decision). Small interfaces for the two things that need the outside world: the owner of a
// socket (process rules) and name resolution (the `resolve` action).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/route/ip.hpp"

namespace tb::route {

struct SniffResult {
  std::string protocol;  // tls, http, quic, dns, …
  std::string domain;    // SNI / Host, empty if none
  std::string client;    // chromium, firefox, …
};

struct ProcessInfo {
  std::string name;  // base name of path
  std::string path;
  std::string user;
  int64_t user_id = -1;
};

struct Request {
  std::string inbound;  // tag of the inbound/endpoint that accepted the connection
  std::string network = "tcp";
  std::optional<IpAddr> source_ip;
  uint16_t source_port = 0;
  std::string destination_host;  // IP literal or domain name
  uint16_t destination_port = 0;
  std::string user;  // auth_user
  // What a `sniff` action would find in the first payload; applied only when a sniff rule matches.
  std::optional<SniffResult> sniff;
  // Tailscale addresses of the receiving endpoint (destination rewrite: docs/singbox.md, "Traffic
  // from the tailnet"). Empty: the router uses the live tailnet's self addresses when `inbound` is
  // a tailscale endpoint.
  std::vector<IpAddr> endpoint_self_ips;
  // The socket owner when already known; otherwise the ProcessSearcher is asked on demand.
  std::optional<ProcessInfo> process;
};

class ProcessSearcher {
 public:
  virtual ~ProcessSearcher() = default;
  // The process owning the local socket (network, source) → (destination), or nullopt.
  virtual std::optional<ProcessInfo> find(const std::string& network, const IpAddr& source, uint16_t source_port,
                                          const std::optional<IpAddr>& destination,
                                          uint16_t destination_port) const = 0;
};

// Linux: /proc/net/{tcp,udp}{,6} inode lookup, then /proc/*/fd. SockDiagProcessSearcher
// (process.hpp) asks netlink first and falls back to this table.
class ProcFsProcessSearcher : public ProcessSearcher {
 public:
  explicit ProcFsProcessSearcher(std::string proc_root = "/proc") : root_(std::move(proc_root)) {}
  std::optional<ProcessInfo> find(const std::string& network, const IpAddr& source, uint16_t source_port,
                                  const std::optional<IpAddr>& destination, uint16_t destination_port) const override;
  // The inode and uid of the socket bound to (network, source) in /proc/net/{tcp,udp}{,6}.
  bool socket_inode(const std::string& network, const IpAddr& source, uint16_t source_port, uint64_t& inode,
                    int64_t& uid) const;

 private:
  std::string root_;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Addresses for a lower-case name, or nullopt when the lookup fails.
  virtual std::optional<std::vector<IpAddr>> lookup(const std::string& name) const = 0;
};

// One rule item that matched, in config syntax: key and value as JSON text ("\"example.com\"", "443").
struct MatchedItem {
  std::string key;
  std::string value;
  bool operator==(const MatchedItem&) const = default;
};

enum class ActionType { kRoute, kReject, kHijackDns, kBypass, kRouteOptions, kSniff, kResolve, kDirect };
std::string_view action_name(ActionType a);

// A non-final action that matched on the way (sniff, resolve, route-options).
struct Step {
  size_t rule_index = 0;
  std::string action;  // description, e.g. "sniff" or "route-options(override_address=x)"
};

struct Decision {
  std::optional<size_t> rule_index;  // nullopt: fell through to the default outbound
  ActionType action = ActionType::kRoute;
  std::string outbound;       // for route / bypass / the default
  std::string reject_method;  // for reject: default | drop | reply
  std::vector<MatchedItem> matched_items;
  std::string rule;              // the matched rule, described as sing-box logs it
  std::string action_text;       // the action, described as sing-box logs it
  std::vector<Step> steps;
  std::string destination;       // host after rewrites (override_address, endpoint self-IP rewrite)
  uint16_t destination_port = 0;
  std::vector<std::string> resolved;  // addresses from a resolve action
  std::string error;  // non-empty: the connection fails (lookup failed, outbound not found, …)
  bool fell_through() const { return !rule_index.has_value(); }
};

}  // namespace tb::route
