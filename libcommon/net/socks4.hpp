#pragma once
// SOCKS4 and SOCKS4a (the "SOCKS 4A" extension): pure codecs over byte spans.
//
// Request:
// +----+----+----+----+----+----+----+----+----+----+....+----+
// | VN | CD | DSTPORT |      DSTIP        | USERID       |NULL|
// +----+----+----+----+----+----+----+----+----+----+....+----+
//    1    1      2              4           variable       1
// SOCKS4a: DSTIP 0.0.0.x (x != 0) means a NUL-terminated host name follows USERID.
//
// Reply (VN = 0):
// +----+----+----+----+----+----+----+----+
// | VN | CD | DSTPORT |      DSTIP        |
// +----+----+----+----+----+----+----+----+
// CD 90 granted, 91 rejected or failed.

#include <string>

#include "libcommon/net/address.hpp"
#include "libcommon/net/bytes.hpp"

namespace tb::net::socks4 {

inline constexpr uint8_t kVersion = 0x04;
inline constexpr uint8_t kConnect = 0x01;
inline constexpr uint8_t kGranted = 90;
inline constexpr uint8_t kRejected = 91;

struct Request {
  uint8_t command = 0;
  HostPort destination;  // IPv4 literal, or the 4a host name
  std::string user_id;
  bool socks4a = false;
};

// Names and user ids longer than 255 bytes are refused (nothing is buffered without bound).
Parsed<Request> parse_request(Bytes in);
Buffer reply(uint8_t code);

}  // namespace tb::net::socks4
