#include "libcommon/net/dns.hpp"

#include <arpa/inet.h>
#include <sys/random.h>

#include <algorithm>
#include <optional>
#include <random>

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

uint16_t random_id() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) == static_cast<ssize_t>(sizeof id)) return id;
  std::random_device rd;  // getrandom(2) missing (Linux < 3.17) or interrupted
  return static_cast<uint16_t>(rd());
}

namespace {

uint16_t u16(Bytes in, size_t p) { return static_cast<uint16_t>((in[p] << 8) | in[p + 1]); }

// Reads the (possibly compressed) name at `pos` into `out`; returns the offset after it in the
// message (after its first pointer, if any), or 0 when it is malformed. As Go's dnsmessage
// (golang.org/x/net/dns/dnsmessage, Name.unpack), which tailscaled answers with: at most 10
// pointers, so a name cannot loop; 255 bytes at most (RFC 1035 §3.1); label types 0x40 and 0x80
// are reserved.
size_t read_name(Bytes in, size_t pos, std::string& out) {
  out.clear();
  size_t after = 0;  // set at the first pointer
  size_t wire = 1;   // the root label
  int pointers = 0;
  while (pos < in.size()) {
    uint8_t len = in[pos];
    if (len == 0) return after ? after : pos + 1;
    if ((len & 0xC0) == 0xC0) {
      if (pos + 2 > in.size() || ++pointers > 10) return 0;
      if (!after) after = pos + 2;
      pos = static_cast<size_t>(u16(in, pos) & 0x3FFF);
      continue;
    }
    if (len & 0xC0) return 0;
    wire += 1 + len;
    if (wire > 255 || pos + 1 + len > in.size()) return 0;
    if (!out.empty()) out += '.';
    out.append(reinterpret_cast<const char*>(in.data()) + pos + 1, len);
    pos += 1 + len;
  }
  return 0;
}

}  // namespace

Parsed<Answer> parse_response(Bytes in) {
  if (in.size() < 12) return Parsed<Answer>::bad("short DNS message");
  Answer a;
  a.id = u16(in, 0);
  if (!(in[2] & 0x80)) return Parsed<Answer>::bad("not a DNS response");
  a.rcode = in[3] & 0x0f;
  a.truncated = (in[2] & 0x02) != 0;
  size_t qd = u16(in, 4), an = u16(in, 6);
  size_t pos = 12;
  std::string name;
  for (size_t i = 0; i < qd; ++i) {
    pos = read_name(in, pos, name);
    if (pos == 0 || pos + 4 > in.size()) return Parsed<Answer>::bad("truncated question");
    if (i == 0) {
      a.qname = name;
      a.qtype = u16(in, pos);
    }
    pos += 4;
  }
  // The cache TTL as sing-box's client.go Exchange takes it: without answer records, the SOA of
  // the authority section gives min(its TTL, its MINIMUM) (RFC 2308 §5); otherwise, or without
  // an SOA, the smallest non-zero TTL of every record (answer, authority, additional; not OPT,
  // whose TTL field holds flags).
  uint32_t smallest = 0;
  std::optional<uint32_t> negative;
  auto u32 = [&](size_t p) { return static_cast<uint32_t>(u16(in, p)) << 16 | u16(in, p + 2); };
  const size_t counts[3] = {an, u16(in, 8), u16(in, 10)};
  for (int section = 0; section < 3; ++section) {
    for (size_t i = 0; i < counts[section]; ++i) {
      pos = read_name(in, pos, name);
      if (pos == 0 || pos + 10 > in.size() || pos + 10 + u16(in, pos + 8) > in.size()) {
        if (section == 0) return Parsed<Answer>::bad(pos == 0 || pos + 10 > in.size() ? "truncated answer" : "truncated rdata");
        section = 3;  // a bad authority or additional section only costs the TTL it would have given
        break;
      }
      uint16_t type = u16(in, pos), rdlen = u16(in, pos + 8);
      uint32_t ttl = u32(pos + 4);
      pos += 10;
      if (type != kTypeOpt && ttl > 0 && (smallest == 0 || ttl < smallest)) smallest = ttl;
      if (section == 0 && ((type == kTypeA && rdlen == 4) || (type == kTypeAAAA && rdlen == 16))) {
        char text[INET6_ADDRSTRLEN] = {};
        inet_ntop(type == kTypeA ? AF_INET : AF_INET6, in.data() + pos, text, sizeof text);
        a.addresses.emplace_back(text);
      }
      if (section == 1 && type == kTypeSoa && !negative) {
        std::string mname, rname;  // then SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM
        size_t p = read_name(in, pos, mname);
        if (p != 0) p = read_name(in, p, rname);
        if (p != 0 && p + 20 <= pos + rdlen) negative = std::min(ttl, u32(p + 16));
      }
      pos += rdlen;
    }
  }
  a.ttl = an == 0 && negative.value_or(0) > 0 ? *negative : smallest;  // an SOA saying 0: as if none
  return Parsed<Answer>::done(std::move(a), in.size());
}

Parsed<Question> parse_query(Bytes in) {
  if (in.size() < 12) return Parsed<Question>::bad("short DNS message");
  if (in[2] & 0x80) return Parsed<Question>::bad("not a DNS query");
  if ((in[2] & 0x78) != 0) return Parsed<Question>::bad("not a standard query");
  if (u16(in, 4) != 1) return Parsed<Question>::bad("not exactly one question");
  Question q;
  q.id = u16(in, 0);
  q.recursion_desired = (in[2] & 0x01) != 0;
  size_t pos = read_name(in, 12, q.qname);
  if (pos == 0 || pos + 4 > in.size()) return Parsed<Question>::bad("truncated question");
  q.qtype = u16(in, pos);
  q.qclass = u16(in, pos + 2);
  return Parsed<Question>::done(std::move(q), in.size());
}

Buffer response(const Question& q, int rcode, const std::vector<std::string>& addresses, uint32_t ttl) {
  Buffer out = query(q.id, q.qname, q.qtype);
  out[2] = static_cast<uint8_t>(0x80 | (q.recursion_desired ? 0x01 : 0));  // QR, RD as asked
  out[3] = static_cast<uint8_t>(0x80 | (rcode & 0x0f));                    // RA
  out[out.size() - 2] = static_cast<uint8_t>(q.qclass >> 8);
  out[out.size() - 1] = static_cast<uint8_t>(q.qclass);
  if (rcode != 0) return out;
  uint16_t count = 0;
  for (const auto& text : addresses) {
    uint8_t raw[16];
    bool v4 = q.qtype == kTypeA && inet_pton(AF_INET, text.c_str(), raw) == 1;
    bool v6 = !v4 && q.qtype == kTypeAAAA && inet_pton(AF_INET6, text.c_str(), raw) == 1;
    if (!v4 && !v6) continue;
    uint8_t len = v4 ? 4 : 16;
    out.insert(out.end(), {0xC0, 12, static_cast<uint8_t>(q.qtype >> 8), static_cast<uint8_t>(q.qtype), 0, 1,
                           static_cast<uint8_t>(ttl >> 24), static_cast<uint8_t>(ttl >> 16),
                           static_cast<uint8_t>(ttl >> 8), static_cast<uint8_t>(ttl), 0, len});
    out.insert(out.end(), raw, raw + len);
    ++count;
  }
  out[6] = static_cast<uint8_t>(count >> 8);
  out[7] = static_cast<uint8_t>(count);
  return out;
}

}  // namespace tb::net::dns
