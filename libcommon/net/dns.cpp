#include "libcommon/net/dns.hpp"

#include <arpa/inet.h>

namespace tb::net::dns {

Buffer query(uint16_t id, const std::string& name, uint16_t qtype) {
  Buffer out{static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    size_t len = std::min<size_t>(dot - start, 63);
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
               name.begin() + static_cast<std::ptrdiff_t>(start + len));
    start = dot + 1;
  }
  out.push_back(0);
  out.insert(out.end(), {static_cast<uint8_t>(qtype >> 8), static_cast<uint8_t>(qtype), 0x00, 0x01});
  return out;
}

namespace {
// Skips a (possibly compressed) name; returns the offset after it or 0 on error.
size_t skip_name(Bytes in, size_t pos) {
  while (pos < in.size()) {
    uint8_t len = in[pos];
    if (len == 0) return pos + 1;
    if ((len & 0xC0) == 0xC0) return pos + 2 <= in.size() ? pos + 2 : 0;
    pos += 1 + len;
  }
  return 0;
}
uint16_t u16(Bytes in, size_t p) { return static_cast<uint16_t>((in[p] << 8) | in[p + 1]); }
}  // namespace

Parsed<Answer> parse_response(Bytes in) {
  if (in.size() < 12) return Parsed<Answer>::bad("short DNS message");
  Answer a;
  a.id = u16(in, 0);
  if (!(in[2] & 0x80)) return Parsed<Answer>::bad("not a DNS response");
  a.rcode = in[3] & 0x0f;
  size_t qd = u16(in, 4), an = u16(in, 6);
  size_t pos = 12;
  for (size_t i = 0; i < qd; ++i) {
    pos = skip_name(in, pos);
    if (pos == 0 || pos + 4 > in.size()) return Parsed<Answer>::bad("truncated question");
    pos += 4;
  }
  for (size_t i = 0; i < an; ++i) {
    pos = skip_name(in, pos);
    if (pos == 0 || pos + 10 > in.size()) return Parsed<Answer>::bad("truncated answer");
    uint16_t type = u16(in, pos), rdlen = u16(in, pos + 8);
    pos += 10;
    if (pos + rdlen > in.size()) return Parsed<Answer>::bad("truncated rdata");
    char text[INET6_ADDRSTRLEN] = {};
    if (type == kTypeA && rdlen == 4) {
      inet_ntop(AF_INET, in.data() + pos, text, sizeof text);
      a.addresses.emplace_back(text);
    } else if (type == kTypeAAAA && rdlen == 16) {
      inet_ntop(AF_INET6, in.data() + pos, text, sizeof text);
      a.addresses.emplace_back(text);
    }
    pos += rdlen;
  }
  return Parsed<Answer>::done(std::move(a), in.size());
}

}  // namespace tb::net::dns
