#include "libcommon/net/socks4.hpp"

#include <cstring>

namespace tb::net::socks4 {

namespace {
constexpr size_t kMaxField = 255;

// Index of the NUL at or after `from`, or npos; kBad when the field is too long.
size_t find_nul(Bytes in, size_t from) {
  for (size_t i = from; i < in.size(); ++i)
    if (in[i] == 0) return i;
  return std::string::npos;
}
}  // namespace

Parsed<Request> parse_request(Bytes in) {
  if (in.size() < 9) return Parsed<Request>::need_more();
  if (in[0] != kVersion) return Parsed<Request>::bad("not SOCKS4");
  Request r;
  r.command = in[1];
  r.destination.port = static_cast<uint16_t>((in[2] << 8) | in[3]);
  size_t uid_end = find_nul(in, 8);
  if (uid_end == std::string::npos)
    return in.size() - 8 > kMaxField ? Parsed<Request>::bad("SOCKS4 user id too long") : Parsed<Request>::need_more();
  // The limit holds for a field that arrived whole too (found by socks4_fuzz).
  if (uid_end - 8 > kMaxField) return Parsed<Request>::bad("SOCKS4 user id too long");
  r.user_id.assign(reinterpret_cast<const char*>(in.data() + 8), uid_end - 8);
  size_t used = uid_end + 1;
  bool is4a = in[4] == 0 && in[5] == 0 && in[6] == 0 && in[7] != 0;
  if (is4a) {
    size_t host_end = find_nul(in, used);
    if (host_end == std::string::npos)
      return in.size() - used > kMaxField ? Parsed<Request>::bad("SOCKS4a host name too long")
                                          : Parsed<Request>::need_more();
    if (host_end == used) return Parsed<Request>::bad("SOCKS4a empty host name");
    if (host_end - used > kMaxField) return Parsed<Request>::bad("SOCKS4a host name too long");
    r.destination.host.assign(reinterpret_cast<const char*>(in.data() + used), host_end - used);
    if (has_control_or_space(r.destination.host))
      return Parsed<Request>::bad("SOCKS4a control character or space in host name");
    r.socks4a = true;
    used = host_end + 1;
  } else {
    r.destination.host = std::to_string(in[4]) + "." + std::to_string(in[5]) + "." + std::to_string(in[6]) + "." +
                         std::to_string(in[7]);
  }
  return Parsed<Request>::done(std::move(r), used);
}

Buffer reply(uint8_t code) { return {0x00, code, 0, 0, 0, 0, 0, 0}; }

}  // namespace tb::net::socks4
