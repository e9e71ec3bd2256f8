#pragma once
// sb-relay's DNS router, as sing-box v1.13.19's dns/router.go and dns/client.go: which configured
// server answers (a server named by the asker, else the first DNS rule that routes, else
// dns.final), the strategy (the asker's, the rules', else dns.strategy), the cache, and the
// servers themselves (dns_transport.hpp; the tailscale type here). Internal header: asio.

#include <string>

#include "libcommon/net/bytes.hpp"
#include "libcommon/net/dialer.hpp"
#include "libcommon/net/io.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/net/resolve.hpp"
#include "libcommon/route/dns_settings.hpp"

namespace tb::net {

// A and/or AAAA for `name` (lower case, no trailing dot) through the configured servers.
// Resolved::server names the server that answered, or the rule that answered instead
// ("dns.rules[i]" for reject and predefined).
awaitable<Resolved> dns_lookup(const Plan& plan, const tb::route::DnsSettings& dns, const std::string& name,
                               const ResolveVia& via);

// The route decision with what its resolve actions need looked up first, asynchronously: a
// decision that fails at a resolve action for want of an answer is made again once that action's
// lookup (its server and strategy, through the configured servers or as without them) is in.
// `dns_server` gets the server that answered ("" if none was asked).
awaitable<tb::route::Decision> decide_resolving(const Plan& plan, const tb::route::Request& req,
                                                const std::string& host, std::string& dns_server);

// hijack-dns: the answer to one DNS query (a whole message) from the DNS router, as sing-box's
// route/dns.go answers a hijacked query: an A or AAAA question is looked up with the DNS rules
// (the query's type as the strategy); any other type is answered NOTIMP. Empty when `query` is
// not a query (the caller drops it).
awaitable<Buffer> dns_answer(const Plan& plan, Bytes query, const tb::route::Request* req);

// hijack-dns on a stream (a SOCKS CONNECT or HTTP CONNECT): a connected loopback socket for the
// relay to pump the client's bytes into; its other end reads DNS messages with their two-byte
// length (RFC 1035 §4.2.2) and answers each with dns_answer, until the relay closes it.
awaitable<DialResult> hijack_dns_stream(std::shared_ptr<const Plan> plan, tb::route::Request req);

}  // namespace tb::net
