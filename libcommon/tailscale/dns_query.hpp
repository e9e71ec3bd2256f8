#pragma once
// Whether a name resolves to a tailnet address through the daemon's own resolver (MagicDNS):
// GET /localapi/v0/dns-query (tailscale.com v1.102.5 ipn/localapi serveDNSQuery; write access)
// answers {"Bytes": <the DNS response, base64>, …}. Only the answer records' A and AAAA data are
// read here (RFC 1035 §4.1); sb-relay has the full codec in libcommon/net, which the Windows build
// of ts-status does not carry.

#include <string>
#include <string_view>
#include <vector>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"

namespace tb::ts {

class LocalApiClient;

// The A and AAAA addresses in a DNS response, as text; kProtocol for a malformed message.
core::Result<std::vector<std::string>> dns_answer_addresses(std::string_view msg);
// 100.64.0.0/10 or fd7a:115c:a1e0::/48: an address tailscaled hands out.
bool is_tailnet_address(const std::string& ip);
// A then AAAA for `name` from the daemon; every address found (tailnet or not).
core::Result<std::vector<std::string>> resolve_via_daemon(LocalApiClient& client, const std::string& name);

}  // namespace tb::ts
