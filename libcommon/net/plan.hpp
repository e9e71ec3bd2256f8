#pragma once
// One routing plan as sb-relay runs it: the Router (the same one `sb-route explain` uses), the
// outbounds to dial, the inbounds to listen on, and what the relay needs of the tailnet (TUN or
// userspace, self addresses, MagicDNS). Immutable once built; sessions hold a shared_ptr to the
// plan they started with, so a new plan never changes a running connection.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/net/outbound.hpp"
#include "libcommon/route/router.hpp"

namespace tb::net {

struct Plan {
  uint64_t generation = 0;
  std::shared_ptr<const tb::route::Router> router;
  std::map<std::string, OutboundSpec> outbounds;
  std::vector<InboundSpec> inbounds;
  bool tun = true;  // the status said tailscaled has a kernel TUN (host-stack dialing)
  std::vector<tb::route::IpAddr> self_ips;
  std::string magic_dns_suffix;
  bool has_resolve_action = false;
  // route.find_process, or a rule or rule-set that needs the socket owner (process_name,
  // process_path, process_path_regex, user, user_id): sessions look the client's process up.
  bool needs_process = false;
  std::vector<std::string> config_paths;

  const OutboundSpec* outbound(const std::string& tag) const {
    auto it = outbounds.find(tag);
    return it == outbounds.end() ? nullptr : &it->second;
  }
  const tb::route::MagicDnsTable& magic_dns() const { return router->magic_dns(); }
};

// The `resolve` rule action asks the Router's Resolver synchronously. Sessions resolve
// asynchronously first and leave the answer here (per thread) just before Router::decide.
void prefetch_answer(const std::string& name, std::vector<tb::route::IpAddr> addrs);
void clear_prefetched();

// A merged config (+ the tailnet from a status record, or none) → Plan. Config errors are
// ExitCode::kConfig with every error diagnostic joined.
tb::core::Result<std::shared_ptr<const Plan>> plan_from_config(const tb::core::Json& merged,
                                                               const tb::core::Json* status,
                                                               std::vector<std::string> paths);

// A `plan` record from `sb-route plan` (with "source" and "status") → Plan. kDataErr when the
// record is not a v1 plan or lacks the config.
tb::core::Result<std::shared_ptr<const Plan>> plan_from_record(const tb::core::Json& record);

// One record of `sb-route plan`'s output (sb-relay's stdin, read by core's JSON Lines reader) →
// a plan; nullopt for a record of another type (ignored); kDataErr for a bad plan record.
tb::core::Result<std::optional<std::shared_ptr<const Plan>>> plan_from_object(const tb::core::Json& record);
// The same for one line of text: nullopt also for a blank line; kDataErr for a line that is not
// a JSON object.
tb::core::Result<std::optional<std::shared_ptr<const Plan>>> plan_from_line(std::string_view line);

}  // namespace tb::net
