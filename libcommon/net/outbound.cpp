#include "libcommon/net/outbound.hpp"

namespace tb::net {

using tb::core::ExitCode;
using tb::core::fail;
using tb::core::Json;

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (start == i) return std::nullopt;
    double v = std::stod(std::string(text.substr(start, i - start)));
    size_t ustart = i;
    while (i < text.size() && !(text[i] >= '0' && text[i] <= '9') && text[i] != '.') ++i;
    auto unit = text.substr(ustart, i - ustart);
    double mult;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60e3;
    else if (unit == "h") mult = 3600e3;
    else if (unit == "d") mult = 86400e3;
    else if (unit == "us" || unit == "µs") mult = 1e-3;
    else if (unit == "ns") mult = 1e-6;
    else return std::nullopt;
    total_ms += v * mult;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

std::optional<uint32_t> parse_mark(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint32_t>();
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  try {
    size_t used = 0;
    unsigned long n;
    if (s.rfind("0o", 0) == 0) n = std::stoul(s.substr(2), &used, 8), used += 2;
    else n = std::stoul(s, &used, 0);
    if (used != s.size() || n > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(n);
  } catch (...) {
    return std::nullopt;
  }
}

namespace {

std::string str(const Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

tb::core::Result<DialOptions> dial_options(const Json& o, const std::optional<uint32_t>& default_mark,
                                           const std::string& where) {
  DialOptions d;
  if (auto it = o.find("routing_mark"); it != o.end() && !it->is_null()) {
    auto m = parse_mark(*it);
    if (!m) return fail(ExitCode::kConfig, where + ".routing_mark: not a mark");
    if (*m != 0) d.routing_mark = m;
  }
  if (!d.routing_mark) d.routing_mark = default_mark;
  d.bind_interface = str(o, "bind_interface");
  d.inet4_bind_address = str(o, "inet4_bind_address");
  d.inet6_bind_address = str(o, "inet6_bind_address");
  if (auto s = str(o, "connect_timeout"); !s.empty()) {
    auto t = parse_duration(s);
    if (!t) return fail(ExitCode::kConfig, where + ".connect_timeout: bad duration \"" + s + "\"");
    d.connect_timeout = *t;
  }
  return d;
}

}  // namespace

tb::core::Result<std::map<std::string, OutboundSpec>> outbounds_from_config(const Json& merged) {
  std::map<std::string, OutboundSpec> out;
  std::optional<uint32_t> default_mark;
  if (auto r = merged.find("route"); r != merged.end() && r->is_object())
    if (auto m = r->find("default_mark"); m != r->end() && !m->is_null()) {
      default_mark = parse_mark(*m);
      if (default_mark && *default_mark == 0) default_mark.reset();
    }
  bool any = false;
  for (const char* list : {"outbounds", "endpoints"}) {
    auto it = merged.find(list);
    if (it == merged.end() || !it->is_array()) continue;
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& o = (*it)[i];
      if (!o.is_object()) continue;
      std::string where = std::string(list) + "[" + std::to_string(i) + "]";
      OutboundSpec s;
      s.type = str(o, "type");
      s.tag = str(o, "tag");
      if (s.tag.empty()) s.tag = std::to_string(i);
      auto d = dial_options(o, default_mark, where);
      if (!d) return tl::unexpected(d.error());
      s.dial = *d;
      if (s.type == "socks" || s.type == "http") {
        s.server.host = str(o, "server");
        if (auto p = o.find("server_port"); p != o.end() && p->is_number_unsigned()) s.server.port = p->get<uint16_t>();
        s.username = str(o, "username");
        s.password = str(o, "password");
        if (auto v = str(o, "version"); !v.empty()) s.socks_version = v;
      }
      if (s.type == "tailscale") s.detour = str(o, "detour");
      out[s.tag] = s;
      if (std::string(list) == "outbounds") any = true;
    }
  }
  if (!any && !out.count("direct")) {  // sing-box's implicit direct outbound
    OutboundSpec s;
    s.tag = s.type = "direct";
    s.dial.routing_mark = default_mark;
    out["direct"] = s;
  }
  return out;
}

std::vector<InboundSpec> inbounds_from_config(const Json& merged) {
  std::vector<InboundSpec> out;
  auto it = merged.find("inbounds");
  if (it == merged.end() || !it->is_array()) return out;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& o = (*it)[i];
    if (!o.is_object()) continue;
    InboundSpec s;
    s.type = str(o, "type");
    s.tag = str(o, "tag");
    if (s.tag.empty()) s.tag = std::to_string(i);
    if (auto l = str(o, "listen"); !l.empty()) s.listen = l;
    if (auto p = o.find("listen_port"); p != o.end() && p->is_number_unsigned()) s.port = p->get<uint16_t>();
    if (auto u = o.find("users"); u != o.end() && u->is_array())
      for (const auto& x : *u)
        if (x.is_object()) s.users.emplace_back(str(x, "username"), str(x, "password"));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tb::net
