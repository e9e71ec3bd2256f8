#pragma once
// sb-relay's v1 records on stdout (man/tailbox.7):
//   {"v":1,"type":"listening","inbounds":[{"tag","type","listen","port","address","auth"}],"threads":N,
//    "generation":G}
//   {"v":1,"type":"conn","event":"open"|"close","id":N,"inbound","protocol","user","source",
//    "destination":{"host","port","ip"},"rule","action","outbound","generation","bytes_up",
//    "bytes_down","duration_ms","error","process":{"pid","name","path","user","user_id"}|null,
//    "dns_server":"<DNS server tag or dns.rules[i]>"|null,
//    "exit_node":{"id","name","online"}|null}  (the exit node it left by: libcommon/net/exit_path.hpp)
// Passwords never appear in any record.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/net/outbound.hpp"
#include "libcommon/route/process.hpp"

namespace tb::net {

struct ConnInfo {
  uint64_t id = 0;
  std::string inbound, protocol, user, source;
  std::string host;  // as the client named it
  uint16_t port = 0;
  std::string ip;  // the address dialed (after resolution), "" if none
  std::string dns_server;  // the DNS server (tag) or DNS rule that resolved the host, "" if none did
  std::optional<size_t> rule;
  std::string action;  // route | reject | ""
  std::string outbound;
  uint64_t generation = 0;
  uint64_t bytes_up = 0, bytes_down = 0;
  int64_t duration_ms = 0;
  std::string error;
  std::optional<tb::route::SocketOwner> process;  // the client's process, when looked up and found
  struct ExitNode {
    std::string id, name;
    bool online = false;
  };
  std::optional<ExitNode> exit_node;  // the tailnet exit node the connection left by
};

tb::core::Json conn_record(const ConnInfo& c, std::string_view event);

struct BoundInbound {
  InboundSpec spec;
  std::string address;  // ip:port actually bound
  uint16_t port = 0;
};
tb::core::Json listening_record(const std::vector<BoundInbound>& inbounds, unsigned threads, uint64_t generation);

}  // namespace tb::net
