#include "libcommon/tailscale/dns_query.hpp"

#include <cstdio>
#include <optional>

#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/localapi_client.hpp"

namespace tb::ts {

using core::ExitCode;

namespace {
// Past a (possibly compressed) name at `pos`; npos when it runs off the end.
size_t skip_name(std::string_view m, size_t pos) {
  while (pos < m.size()) {
    auto len = static_cast<unsigned char>(m[pos]);
    if (len == 0) return pos + 1;
    if ((len & 0xc0) == 0xc0) return pos + 2 <= m.size() ? pos + 2 : std::string_view::npos;
    pos += 1 + len;
  }
  return std::string_view::npos;
}
uint16_t u16(std::string_view m, size_t pos) {
  return static_cast<uint16_t>((static_cast<unsigned char>(m[pos]) << 8) | static_cast<unsigned char>(m[pos + 1]));
}
// A or AAAA record data as text (IPv6 uncompressed, lower-case hex: valid, if not canonical).
std::string address_text(std::string_view d) {
  char buf[48];
  if (d.size() == 4) {
    snprintf(buf, sizeof buf, "%u.%u.%u.%u", static_cast<unsigned char>(d[0]), static_cast<unsigned char>(d[1]),
             static_cast<unsigned char>(d[2]), static_cast<unsigned char>(d[3]));
    return buf;
  }
  std::string out;
  for (size_t i = 0; i < 16; i += 2) {
    snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", u16(d, i));
    out += buf;
  }
  return out;
}
}  // namespace

core::Result<std::vector<std::string>> dns_answer_addresses(std::string_view m) {
  auto bad = [] { return core::fail(ExitCode::kProtocol, "dns-query: tailscaled sent a malformed DNS response"); };
  if (m.size() < 12) return bad();
  size_t pos = 12;
  for (int q = u16(m, 4); q > 0; --q) {
    pos = skip_name(m, pos);
    if (pos == std::string_view::npos || pos + 4 > m.size()) return bad();
    pos += 4;
  }
  std::vector<std::string> out;
  for (int a = u16(m, 6); a > 0; --a) {
    pos = skip_name(m, pos);
    if (pos == std::string_view::npos || pos + 10 > m.size()) return bad();
    uint16_t type = u16(m, pos), rdlen = u16(m, pos + 8);
    pos += 10;
    if (pos + rdlen > m.size()) return bad();
    if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) out.push_back(address_text(m.substr(pos, rdlen)));
    pos += rdlen;
  }
  return out;
}

bool is_tailnet_address(const std::string& ip) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  char end = 0;
  if (sscanf(ip.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &end) == 4) return a == 100 && b >= 64 && b < 128;
  std::string lower;
  for (char ch : ip) lower.push_back(static_cast<char>(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch));
  return lower.rfind("fd7a:115c:a1e0:", 0) == 0;
}

core::Result<std::vector<std::string>> resolve_via_daemon(LocalApiClient& client, const std::string& name) {
  std::vector<std::string> all;
  for (const char* type : {"A", "AAAA"}) {
    auto doc = client.dns_query(name, type);
    if (!doc) return tl::unexpected(doc.error());
    const core::Json* bytes = doc->is_object() && doc->contains("Bytes") ? &(*doc)["Bytes"] : nullptr;
    if (!bytes || !bytes->is_string()) return core::fail(ExitCode::kProtocol, "dns-query: no \"Bytes\" in tailscaled's answer");
    auto msg = core::base64_decode(bytes->get<std::string>());
    if (!msg) return core::fail(ExitCode::kProtocol, "dns-query: \"Bytes\" is not base64");
    auto addrs = dns_answer_addresses(*msg);
    if (!addrs) return tl::unexpected(addrs.error());
    all.insert(all.end(), addrs->begin(), addrs->end());
  }
  return all;
}

}  // namespace tb::ts
