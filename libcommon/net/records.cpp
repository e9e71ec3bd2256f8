#include "libcommon/net/records.hpp"

namespace tb::net {

using tb::core::Json;

static Json str_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

// The same names as a decide request's "process" (man/sb-route.1), and the pid.
static Json process_json(const std::optional<tb::route::SocketOwner>& o) {
  if (!o) return nullptr;
  return {{"pid", o->pid >= 0 ? Json(o->pid) : Json(nullptr)},
          {"name", str_or_null(o->info.name)},
          {"path", str_or_null(o->info.path)},
          {"user", str_or_null(o->info.user)},
          {"user_id", o->info.user_id >= 0 ? Json(o->info.user_id) : Json(nullptr)}};
}

Json conn_record(const ConnInfo& c, std::string_view event) {
  Json j;
  j["v"] = 1;
  j["type"] = "conn";
  j["event"] = event;
  j["id"] = c.id;
  j["inbound"] = c.inbound;
  j["protocol"] = c.protocol;
  j["user"] = str_or_null(c.user);
  j["source"] = c.source;
  j["destination"] = {{"host", c.host}, {"port", c.port}, {"ip", str_or_null(c.ip)}};
  j["rule"] = c.rule ? Json(*c.rule) : Json(nullptr);
  j["action"] = str_or_null(c.action);
  j["outbound"] = str_or_null(c.outbound);
  j["generation"] = c.generation;
  j["bytes_up"] = c.bytes_up;
  j["bytes_down"] = c.bytes_down;
  j["duration_ms"] = c.duration_ms;
  j["error"] = str_or_null(c.error);
  j["process"] = process_json(c.process);
  j["dns_server"] = str_or_null(c.dns_server);
  j["exit_node"] = c.exit_node ? Json{{"id", c.exit_node->id}, {"name", c.exit_node->name}, {"online", c.exit_node->online}}
                               : Json(nullptr);
  return j;
}

Json listening_record(const std::vector<BoundInbound>& inbounds, unsigned threads, uint64_t generation) {
  Json j;
  j["v"] = 1;
  j["type"] = "listening";
  Json list = Json::array();
  for (const auto& b : inbounds)
    list.push_back({{"tag", b.spec.tag},
                    {"type", b.spec.type},
                    {"listen", b.spec.listen},
                    {"port", b.port},
                    {"address", b.address},
                    {"auth", !b.spec.users.empty()}});
  j["inbounds"] = list;
  j["threads"] = threads;
  j["generation"] = generation;
  return j;
}

}  // namespace tb::net
