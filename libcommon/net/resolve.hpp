#pragma once
// Name resolution for sb-relay's dials and the `resolve` rule action. Without dns.servers in the
// config: the plan's MagicDNS table, names under the tailnet suffix from tailscaled's resolver at
// 100.100.100.100, the rest from the system resolver (asio's, getaddrinfo off the event loop).
// With dns.servers: the configured servers, chosen as sing-box v1.13.19 chooses them (dns_router.hpp).
// Internal header: it includes asio.

#include <chrono>
#include <string>
#include <vector>

#include "libcommon/net/io.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/route/request.hpp"

namespace tb::net {

struct Resolved {
  std::vector<asio::ip::address> addresses;
  std::string error;
  std::string server;  // the DNS server tag that answered ("" without dns.servers, or for a literal)
};

// Who asks: a dial through `outbound` (its domain_resolver, else route.default_domain_resolver,
// else the default server with fewer than two servers, else the DNS rules), or the resolve action
// (its server, else the DNS rules; its strategy). `request` is what the DNS rules match on besides
// the name (inbound, user, source …); without one only the name and the rule-sets take part.
struct ResolveVia {
  std::string outbound;
  bool resolve_action = false;
  std::string server, strategy;  // the resolve action's
  const tb::route::Request* request = nullptr;

  static ResolveVia dial(std::string outbound_tag) {
    ResolveVia v;
    v.outbound = std::move(outbound_tag);
    return v;
  }
};

// `via` has no default and callers pass a named object: g++ 12 destroyed a coroutine's temporary
// argument (a default `{}` or a prvalue) twice, and sb-relay aborted with free(): invalid pointer on
// its first dial over tailscale0.
awaitable<Resolved> resolve_host(const std::string& host, const Plan& plan, const ResolveVia& via);

// A and AAAA for `name` from one DNS server (tailscaled's 100.100.100.100:53 for names under the
// tailnet suffix), asked at once on one socket, each query with its own random ID; an answer
// counts only when its ID, type and question match one of ours. Both answers, or whatever came
// within `timeout`; A before AAAA.
// The socket is opened and protected with `dial` (protect.hpp), the dial fields of the outbound
// whose destination is resolved (none: nullptr; a pointer because g++ 12 destroys a class-type
// default argument of a coroutine twice).
awaitable<Resolved> ask_dns(const std::string& name, udp::endpoint server, std::chrono::milliseconds timeout,
                            const DialOptions* dial = nullptr);

}  // namespace tb::net
