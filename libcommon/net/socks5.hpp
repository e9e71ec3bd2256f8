#pragma once
// SOCKS5 (RFC 1928) and username/password auth (RFC 1929): pure codecs over byte spans, for both
// sides (the inbound server and the `socks` upstream client). No sockets here.

#include <optional>
#include <string>
#include <vector>

#include "libcommon/net/address.hpp"
#include "libcommon/net/bytes.hpp"

namespace tb::net::socks5 {

inline constexpr uint8_t kVersion = 0x05;
inline constexpr uint8_t kMethodNoAuth = 0x00;
inline constexpr uint8_t kMethodUserPass = 0x02;
inline constexpr uint8_t kMethodNone = 0xFF;

enum class Command : uint8_t { kConnect = 0x01, kBind = 0x02, kUdpAssociate = 0x03 };
enum class Atyp : uint8_t { kIpv4 = 0x01, kDomain = 0x03, kIpv6 = 0x04 };

// RFC 1928 §6 reply codes.
enum class Reply : uint8_t {
  kSucceeded = 0x00,
  kGeneralFailure = 0x01,
  kNotAllowed = 0x02,  // connection not allowed by ruleset (block, reject)
  kNetworkUnreachable = 0x03,
  kHostUnreachable = 0x04,
  kConnectionRefused = 0x05,
  kTtlExpired = 0x06,  // also: connect timeout
  kCommandNotSupported = 0x07,
  kAddressTypeNotSupported = 0x08,
};

// +----+----------+----------+
// |VER | NMETHODS | METHODS  |
// +----+----------+----------+
// | 1  |    1     | 1 to 255 |
// +----+----------+----------+
struct Greeting {
  std::vector<uint8_t> methods;
};
Parsed<Greeting> parse_greeting(Bytes in);

// +----+--------+
// |VER | METHOD |
// +----+--------+
Buffer method_reply(uint8_t method);
Parsed<uint8_t> parse_method_reply(Bytes in);  // client side: the chosen method

// RFC 1929:
// +----+------+----------+------+----------+
// |VER | ULEN |  UNAME   | PLEN |  PASSWD  |
// +----+------+----------+------+----------+
// | 1  |  1   | 1 to 255 |  1   | 1 to 255 |
// +----+------+----------+------+----------+
// VER is 0x01. The answer is VER(0x01) STATUS (0x00 = success).
struct UserPass {
  std::string user, password;
};
Parsed<UserPass> parse_user_pass(Bytes in);
Buffer user_pass_request(const std::string& user, const std::string& password);
Buffer user_pass_reply(bool ok);
Parsed<bool> parse_user_pass_reply(Bytes in);

// +----+-----+-------+------+----------+----------+
// |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |
// +----+-----+-------+------+----------+----------+
// | 1  |  1  | X'00' |  1   | Variable |    2     |
// +----+-----+-------+------+----------+----------+
// DST.ADDR: 4 bytes (IPv4), 16 bytes (IPv6), or a length byte and that many name bytes.
struct Request {
  uint8_t command = 0;
  Atyp atyp = Atyp::kIpv4;
  HostPort destination;
};
// A bad request carries the reply code to send in `bad_reply` (0x08 for an unknown ATYP).
struct RequestParse {
  Parsed<Request> parsed;
  Reply bad_reply = Reply::kGeneralFailure;
};
RequestParse parse_request(Bytes in);
Buffer connect_request(const HostPort& dst);

// +----+-----+-------+------+----------+----------+
// |VER | REP |  RSV  | ATYP | BND.ADDR | BND.PORT |
// +----+-----+-------+------+----------+----------+
// BND is an IP literal ("" = 0.0.0.0:0).
Buffer reply(Reply code, const HostPort& bound = {});
struct ReplyMsg {
  Reply code = Reply::kGeneralFailure;
  HostPort bound;
};
Parsed<ReplyMsg> parse_reply(Bytes in);

// UDP ASSOCIATE datagrams:
// +----+------+------+----------+----------+----------+
// |RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
// +----+------+------+----------+----------+----------+
// | 2  |  1   |  1   | Variable |    2     | Variable |
// +----+------+------+----------+----------+----------+
// `used` is the header length; fragments (FRAG != 0) are refused, as most servers do.
Parsed<HostPort> parse_udp_header(Bytes in);
Buffer udp_header(const HostPort& addr);

// ATYP + DST.ADDR + DST.PORT for an address (IP literals become ATYP 1/4, names ATYP 3).
void append_address(Buffer& out, const HostPort& addr);

std::string_view reply_name(Reply r);

}  // namespace tb::net::socks5
