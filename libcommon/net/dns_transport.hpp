#pragma once
// One DNS question (A or AAAA) to one server, as sing-box v1.13.19's transports ask it
// (dns/transport/{udp,tcp,https,local}): every socket opened and protected by protect.hpp with
// the server's dial fields. Internal header: it includes asio.

#include <chrono>
#include <string>
#include <vector>

#include "libcommon/net/io.hpp"
#include "libcommon/net/outbound.hpp"
#include "libcommon/route/dns_settings.hpp"

namespace tb::net {

struct DnsReply {
  std::vector<asio::ip::address> addresses;  // of the asked type, in answer order
  int rcode = 0;                             // 3 = NXDOMAIN …
  uint32_t ttl = 0;
  std::string error;  // non-empty: no answer (time-out, refused, bad reply); rcode is not an error here
};

// sing-box's C.DNSTimeout.
inline constexpr std::chrono::milliseconds kDnsTimeout{10000};
// DNS over HTTPS queries in flight at once (each holds a worker thread); more fail at once.
inline constexpr int kMaxDohInFlight = 128;

// UDP (a truncated answer is asked again over TCP, as sing-box's udp transport does) and TCP
// (RFC 1035 §4.2.2: a two-byte length before each message).
awaitable<DnsReply> exchange_udp(udp::endpoint server, const std::string& name, uint16_t qtype, const DialOptions& dial);
awaitable<DnsReply> exchange_tcp(tcp::endpoint server, const std::string& name, uint16_t qtype, const DialOptions& dial);
// The same on a connected stream (a resolver reached through an outbound); errors start with `label`.
awaitable<DnsReply> exchange_on(tcp::socket& sock, const std::string& name, uint16_t qtype, const std::string& label);
// DNS over HTTPS (RFC 8484) to `ip`, with the server's path, method, headers and tls fields
// (on a worker thread, by sb-relay-doh.so, loaded on the first query: doh_module.hpp; its socket
// goes through protect_socket_blocking). Without the module each query fails, saying so.
awaitable<DnsReply> exchange_https(const tb::route::DnsServerSpec& s, asio::ip::address ip, const std::string& name,
                                   uint16_t qtype);
// The system resolver (getaddrinfo off the event loop) for one family: the local server type.
awaitable<DnsReply> exchange_local(const std::string& name, uint16_t qtype);

// The hosts server type: `predefined` first, then the files (re-read when they change), one family.
DnsReply lookup_hosts(const tb::route::DnsServerSpec& s, const std::string& name, uint16_t qtype);

}  // namespace tb::net
