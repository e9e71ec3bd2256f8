#include "libcommon/route/rule.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include "libcommon/route/json_read.hpp"

namespace tb::route {

std::string_view action_name(ActionType a) {
  switch (a) {
    case ActionType::kRoute: return "route";
    case ActionType::kReject: return "reject";
    case ActionType::kHijackDns: return "hijack-dns";
    case ActionType::kBypass: return "bypass";
    case ActionType::kRouteOptions: return "route-options";
    case ActionType::kSniff: return "sniff";
    case ActionType::kResolve: return "resolve";
    case ActionType::kDirect: return "direct";
  }
  return "route";
}

const ProcessInfo* MatchContext::get_process() {
  if (!process_known) {
    process_known = true;
    if (!process && process_searcher && src_ip) process = process_searcher->find(std::string(network), *src_ip, src_port, dst_ip, dst_port);
  }
  return process ? &*process : nullptr;
}

namespace {

// JSON string literal (rule values are almost always plain ASCII; escape the rest).
std::string quote(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out.append(buf);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

constexpr size_t kSmall = 8;  // up to this many values an item scans; beyond it, it hashes

bool suffix_match(std::string_view host, std::string_view value) {
  if (!value.empty() && value[0] == '.') return host.size() > value.size() && host.ends_with(value);
  if (host.size() == value.size()) return host == value;
  return host.size() > value.size() && host.ends_with(value) && host[host.size() - value.size() - 1] == '.';
}

// sing-box's description of a list: one value bare, up to three in brackets, more truncated.
std::string describe_list(const std::string& key, const std::vector<std::string>& values) {
  if (values.size() == 1) return key + "=" + values[0];
  std::string out = key + "=[";
  for (size_t i = 0; i < values.size() && i < 3; ++i) out += (i ? " " : "") + values[i];
  if (values.size() > 3) out += "...";
  return out + "]";
}

// ---- destination / source address items ----

class DomainItem : public RuleItem {
 public:
  DomainItem(std::vector<std::string> domains, std::vector<std::string> suffixes)
      : domains_(std::move(domains)), suffixes_(std::move(suffixes)) {
    if (domains_.size() + suffixes_.size() <= kSmall) return;
    index_ = std::make_unique<DomainIndex>();
    for (size_t i = 0; i < domains_.size(); ++i) index_->add_exact(domains_[i], static_cast<uint32_t>(i));
    for (size_t i = 0; i < suffixes_.size(); ++i)
      index_->add_suffix(suffixes_[i], static_cast<uint32_t>(domains_.size() + i));
  }
  bool match(MatchContext& c) const override {
    if (c.domain.empty()) return false;
    uint32_t best = UINT32_MAX;
    if (!index_) {
      for (size_t i = 0; i < domains_.size() && best == UINT32_MAX; ++i)
        if (c.domain == domains_[i]) best = static_cast<uint32_t>(i);
      for (size_t i = 0; i < suffixes_.size() && best == UINT32_MAX; ++i)
        if (suffix_match(c.domain, suffixes_[i])) best = static_cast<uint32_t>(domains_.size() + i);
    } else {
      index_->lookup(c.domain, [&](uint32_t id) {
        best = std::min(best, id);
        return true;
      });
    }
    if (best == UINT32_MAX) return false;
    if (c.record) {
      if (best < domains_.size())
        c.hit("domain", quote(domains_[best]));
      else
        c.hit("domain_suffix", quote(suffixes_[best - domains_.size()]));
    }
    return true;
  }
  std::string describe() const override {
    std::string out;
    if (!domains_.empty()) out = describe_list("domain", domains_);
    if (!suffixes_.empty()) out += (out.empty() ? "" : " ") + describe_list("domain_suffix", suffixes_);
    return out;
  }
  const std::vector<std::string>& domains() const { return domains_; }
  const std::vector<std::string>& suffixes() const { return suffixes_; }

 private:
  std::vector<std::string> domains_, suffixes_;
  std::unique_ptr<DomainIndex> index_;
};

class KeywordItem : public RuleItem {
 public:
  explicit KeywordItem(std::vector<std::string> k) : keywords_(std::move(k)) {}
  bool match(MatchContext& c) const override {
    if (c.domain.empty()) return false;
    for (const auto& k : keywords_) {
      if (c.domain.find(k) != std::string_view::npos) {
        if (c.record) c.hit("domain_keyword", quote(k));
        return true;
      }
    }
    return false;
  }
  std::string describe() const override { return describe_list("domain_keyword", keywords_); }

 private:
  std::vector<std::string> keywords_;
};

class RegexItem : public RuleItem {
 public:
  RegexItem(std::string key, std::vector<std::string> src, std::vector<std::regex> re)
      : key_(std::move(key)), src_(std::move(src)), re_(std::move(re)) {}
  bool match(MatchContext& c) const override {
    std::string subject;
    if (key_ == "process_path_regex") {
      auto* p = c.get_process();
      if (!p) return false;
      subject = p->path;
    } else if (c.domain.empty()) {
      return false;
    } else {
      subject = c.domain;
    }
    for (size_t i = 0; i < re_.size(); ++i) {
      if (std::regex_search(subject, re_[i])) {
        if (c.record) c.hit(key_, quote(src_[i]));
        return true;
      }
    }
    return false;
  }
  std::string describe() const override { return describe_list(key_, src_); }

 private:
  std::string key_;
  std::vector<std::string> src_;
  std::vector<std::regex> re_;
};

class CidrItem : public RuleItem {
 public:
  CidrItem(bool source, std::vector<std::string> src, std::vector<Prefix> prefixes)
      : source_(source), src_(std::move(src)), prefixes_(std::move(prefixes)) {
    if (prefixes_.size() <= kSmall) return;
    index_ = std::make_unique<PrefixIndex>();
    for (size_t i = 0; i < prefixes_.size(); ++i) index_->add(prefixes_[i], static_cast<uint32_t>(i));
  }
  bool match(MatchContext& c) const override {
    if (source_ || c.cidr_match_source) return c.src_ip && test(c, *c.src_ip);
    if (c.dst_ip) return test(c, *c.dst_ip);
    for (const auto& a : c.dst_addrs)
      if (test(c, a)) return true;
    return false;
  }
  std::string describe() const override { return describe_list(source_ ? "source_ip_cidr" : "ip_cidr", src_); }
  const std::vector<Prefix>& prefixes() const { return prefixes_; }
  const std::vector<std::string>& texts() const { return src_; }

 private:
  bool test(MatchContext& c, const IpAddr& a) const {
    uint32_t best = UINT32_MAX;
    if (!index_) {
      for (size_t i = 0; i < prefixes_.size() && best == UINT32_MAX; ++i)
        if (prefixes_[i].contains(a)) best = static_cast<uint32_t>(i);
    } else {
      index_->lookup(a, [&](uint32_t id) {
        best = std::min(best, id);
        return true;
      });
    }
    if (best == UINT32_MAX) return false;
    if (c.record) c.hit(source_ ? "source_ip_cidr" : "ip_cidr", quote(src_[best]));
    return true;
  }
  bool source_;
  std::vector<std::string> src_;
  std::vector<Prefix> prefixes_;
  std::unique_ptr<PrefixIndex> index_;
};

class PrivateItem : public RuleItem {
 public:
  explicit PrivateItem(bool source) : source_(source) {}
  bool match(MatchContext& c) const override {
    bool ok = false;
    if (source_) {
      ok = c.src_ip && !is_public(*c.src_ip);
    } else if (c.dst_ip) {
      ok = !is_public(*c.dst_ip);
    } else {
      for (const auto& a : c.dst_addrs) ok = ok || !is_public(a);
    }
    if (ok) c.hit(source_ ? "source_ip_is_private" : "ip_is_private", "true");
    return ok;
  }
  std::string describe() const override { return source_ ? "source_ip_is_private=true" : "ip_is_private=true"; }

 private:
  bool source_;
};

// ---- ports ----

class PortItem : public RuleItem {
 public:
  PortItem(bool source, std::vector<uint16_t> ports) : source_(source), ports_(std::move(ports)) {
    sorted_ = ports_;
    std::sort(sorted_.begin(), sorted_.end());
  }
  bool match(MatchContext& c) const override {
    uint16_t p = source_ ? c.src_port : c.dst_port;
    if (!std::binary_search(sorted_.begin(), sorted_.end(), p)) return false;
    if (c.record) c.hit(source_ ? "source_port" : "port", std::to_string(p));
    return true;
  }
  std::string describe() const override {
    std::vector<std::string> s;
    for (auto p : ports_) s.push_back(std::to_string(p));
    return describe_list(source_ ? "source_port" : "port", s);
  }

 private:
  bool source_;
  std::vector<uint16_t> ports_, sorted_;
};

struct PortRange {
  uint16_t lo, hi;
};

class PortRangeItem : public RuleItem {
 public:
  PortRangeItem(bool source, std::vector<std::string> src, std::vector<PortRange> r)
      : source_(source), src_(std::move(src)), ranges_(std::move(r)) {}
  bool match(MatchContext& c) const override {
    uint16_t p = source_ ? c.src_port : c.dst_port;
    for (size_t i = 0; i < ranges_.size(); ++i) {
      if (p >= ranges_[i].lo && p <= ranges_[i].hi) {
        if (c.record) c.hit(source_ ? "source_port_range" : "port_range", quote(src_[i]));
        return true;
      }
    }
    return false;
  }
  std::string describe() const override { return describe_list(source_ ? "source_port_range" : "port_range", src_); }

 private:
  bool source_;
  std::vector<std::string> src_;
  std::vector<PortRange> ranges_;
};

// ---- other items ----

enum class Field { kInbound, kNetwork, kAuthUser, kProtocol, kClient, kProcessName, kProcessPath, kUser };

class StringsItem : public RuleItem {
 public:
  StringsItem(std::string key, Field f, std::vector<std::string> v) : key_(std::move(key)), f_(f), values_(std::move(v)) {}
  bool match(MatchContext& c) const override {
    std::string_view s = c.inbound;
    switch (f_) {
      case Field::kInbound: s = c.inbound; break;
      case Field::kNetwork: s = c.network; break;
      case Field::kAuthUser: s = c.user; break;
      case Field::kProtocol: s = c.protocol; break;
      case Field::kClient: s = c.client; break;
      case Field::kProcessName:
      case Field::kProcessPath:
      case Field::kUser: {
        auto* p = c.get_process();
        if (!p) return false;
        s = f_ == Field::kProcessName ? p->name : f_ == Field::kProcessPath ? p->path : p->user;
        break;
      }
    }
    if (s.empty()) return false;
    for (const auto& v : values_) {
      if (v == s) {
        if (c.record) c.hit(key_, quote(v));
        return true;
      }
    }
    return false;
  }
  std::string describe() const override { return describe_list(key_, values_); }

 private:
  std::string key_;
  Field f_;
  std::vector<std::string> values_;
};

class UserIdItem : public RuleItem {
 public:
  explicit UserIdItem(std::vector<int64_t> ids) : ids_(std::move(ids)) {}
  bool match(MatchContext& c) const override {
    auto* p = c.get_process();
    if (!p || p->user_id < 0) return false;
    for (auto id : ids_) {
      if (id == p->user_id) {
        c.hit("user_id", std::to_string(id));
        return true;
      }
    }
    return false;
  }
  std::string describe() const override {
    std::vector<std::string> s;
    for (auto i : ids_) s.push_back(std::to_string(i));
    return describe_list("user_id", s);
  }

 private:
  std::vector<int64_t> ids_;
};

class IpVersionItem : public RuleItem {
 public:
  explicit IpVersionItem(int v) : v_(v) {}
  bool match(MatchContext& c) const override {
    bool ok = c.ip_version != 0 ? c.ip_version == v_ : (c.dst_ip && (c.dst_ip->v4 ? 4 : 6) == v_);
    if (ok) c.hit("ip_version", std::to_string(v_));
    return ok;
  }
  std::string describe() const override { return "ip_version=" + std::to_string(v_); }

 private:
  int v_;
};

// query_type in a rule-set used by a route rule: a route connection has no query type.
class NeverItem : public RuleItem {
 public:
  explicit NeverItem(std::string d) : d_(std::move(d)) {}
  bool match(MatchContext&) const override { return false; }
  std::string describe() const override { return d_; }

 private:
  std::string d_;
};

class RuleSetItem : public RuleItem {
 public:
  RuleSetItem(std::vector<std::string> tags, std::vector<uint32_t> ids, bool match_source)
      : tags_(std::move(tags)), ids_(std::move(ids)), match_source_(match_source) {}
  bool match(MatchContext& c) const override {
    c.cidr_match_source = match_source_;
    for (size_t i = 0; i < ids_.size(); ++i) {
      const RuleSet* s = c.sets && ids_[i] < c.sets->size() ? (*c.sets)[ids_[i]] : nullptr;
      if (!s) continue;
      size_t mark = c.record ? c.record->size() : 0;
      if (s->match(c)) {
        if (c.record) c.record->insert(c.record->begin() + static_cast<long>(mark), {"rule_set", quote(tags_[i])});
        return true;
      }
      if (c.record) c.record->resize(mark);
    }
    return false;
  }
  std::string describe() const override { return describe_list("rule_set", tags_); }

 private:
  std::vector<std::string> tags_;
  std::vector<uint32_t> ids_;
  bool match_source_;
};

bool any_match(const std::vector<ItemPtr>& items, MatchContext& c) {
  for (const auto& i : items)
    if (i->match(c)) return true;
  return false;
}

}  // namespace

// SPEC §3.3, step by step.
bool Rule::match(MatchContext& c) const {
  if (logical) {
    size_t mark = c.record ? c.record->size() : 0;
    bool result = mode_and;
    for (const auto& r : rules) {
      c.reset_flags();
      bool m = r.match(c);
      if (mode_and && !m) {
        result = false;
        break;
      }
      if (!mode_and && m) {
        result = true;
        break;
      }
    }
    bool out = result != invert;
    if (c.record && (!out || invert)) c.record->resize(mark);
    if (out && invert) c.hit("invert", "true");
    return out;
  }
  if (empty) return true;
  size_t mark = c.record ? c.record->size() : 0;
  if (!src_addr.empty() && !c.src_addr_match) {
    c.did_match = true;
    if (any_match(src_addr, c)) c.src_addr_match = true;
  }
  if (!src_port.empty() && !c.src_port_match) {
    c.did_match = true;
    if (any_match(src_port, c)) c.src_port_match = true;
  }
  if ((!dst_addr.empty() || !dst_cidr.empty()) && !c.dst_addr_match) {
    c.did_match = true;
    if (any_match(dst_addr, c) || any_match(dst_cidr, c)) c.dst_addr_match = true;
  }
  if (!dst_port.empty() && !c.dst_port_match) {
    c.did_match = true;
    if (any_match(dst_port, c)) c.dst_port_match = true;
  }
  auto fail = [&] {
    if (c.record) c.record->resize(mark);
    if (invert) c.hit("invert", "true");
    return invert;
  };
  for (const auto& item : other) {
    if (!dynamic_cast<const RuleSetItem*>(item.get())) c.did_match = true;
    if (!item->match(c)) return fail();
  }
  if (!src_addr.empty() && !c.src_addr_match) return fail();
  if (!src_port.empty() && !c.src_port_match) return fail();
  if ((!dst_addr.empty() || !dst_cidr.empty()) && !c.dst_addr_match) return fail();
  if (!dst_port.empty() && !c.dst_port_match) return fail();
  if (!c.did_match) return true;
  if (invert && c.record) c.record->resize(mark);
  return !invert;
}

std::string Rule::describe() const {
  std::string out;
  if (logical) {
    for (const auto& r : rules) {
      if (!out.empty()) out.append(mode_and ? " && " : " || ");
      out.push_back('(');
      out.append(r.describe());
      out.push_back(')');
    }
  } else {
    for (const auto* group : {&src_addr, &src_port, &dst_addr, &dst_cidr, &dst_port, &other}) {
      for (const auto& i : *group) {
        if (!out.empty()) out.push_back(' ');
        out.append(i->describe());
      }
    }
  }
  if (!invert) return out;
  std::string inv = "!(";
  inv.append(out);
  inv.push_back(')');
  return inv;
}

IndexKeys Rule::index_keys() const {
  IndexKeys k;
  if (logical || invert || empty || dst_addr.size() + dst_cidr.size() == 0) return k;
  for (const auto& i : other)
    if (dynamic_cast<const RuleSetItem*>(i.get())) return k;
  for (const auto& i : dst_addr) {
    auto* d = dynamic_cast<const DomainItem*>(i.get());
    if (!d) return k;
    for (const auto& x : d->domains()) k.domains.push_back(&x);
    for (const auto& x : d->suffixes()) k.suffixes.push_back(&x);
  }
  for (const auto& i : dst_cidr) {
    auto* d = dynamic_cast<const CidrItem*>(i.get());
    if (!d) return k;
    for (size_t n = 0; n < d->prefixes().size(); ++n) {
      k.cidrs.push_back(&d->prefixes()[n]);
      k.cidr_texts.push_back(&d->texts()[n]);
    }
  }
  k.indexable = true;
  k.pure = src_addr.empty() && src_port.empty() && dst_port.empty() && other.empty();
  return k;
}

bool Rule::uses_process() const {
  if (logical) {
    for (const auto& r : rules)
      if (r.uses_process()) return true;
    return false;
  }
  return needs_process;
}

bool RuleSet::match(MatchContext& c) const {
  for (const auto& r : rules)
    if (r.match(c)) return true;
  return false;
}

std::string Action::describe() const {
  std::vector<std::string> opts;
  if (!override_address.empty()) opts.push_back("override-address=" + override_address);
  if (override_port) opts.push_back("override-port=" + std::to_string(*override_port));
  for (const auto& [k, v] : options) {
    std::string key = k;
    std::replace(key.begin(), key.end(), '_', '-');
    opts.push_back(key + "=" + v);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
  };
  switch (type) {
    case ActionType::kRoute: {
      std::vector<std::string> all{outbound};
      all.insert(all.end(), opts.begin(), opts.end());
      return "route(" + join(all) + ")";
    }
    case ActionType::kBypass: {
      std::vector<std::string> all;
      if (!outbound.empty()) all.push_back(outbound);
      all.insert(all.end(), opts.begin(), opts.end());
      return "bypass(" + join(all) + ")";
    }
    case ActionType::kReject: return method == "default" ? "reject" : "reject(" + method + ")";
    case ActionType::kHijackDns: return "hijack-dns";
    case ActionType::kRouteOptions: return "route-options(" + join(opts) + ")";
    case ActionType::kSniff: {
      std::vector<std::string> all = sniffers;
      if (!timeout.empty()) all.push_back(timeout);
      return all.empty() ? "sniff" : "sniff(" + join(all) + ")";
    }
    case ActionType::kResolve: {
      std::vector<std::string> all;
      if (!server.empty()) all.push_back(server);
      if (!strategy.empty()) all.push_back(strategy);
      return all.empty() ? "resolve" : "resolve(" + join(all) + ")";
    }
    case ActionType::kDirect: return "direct";
  }
  return "route";
}

// ---------------------------------------------------------------------------------------------
// Compiling rules from JSON.

namespace {

const std::set<std::string, std::less<>> kSupportedMatchKeys = {
    "inbound", "ip_version", "network", "auth_user", "protocol", "client", "domain", "domain_suffix",
    "domain_keyword", "domain_regex", "source_ip_cidr", "source_ip_is_private", "ip_cidr", "ip_is_private",
    "source_port", "source_port_range", "port", "port_range", "process_name", "process_path",
    "process_path_regex", "user", "user_id", "rule_set", "rule_set_ip_cidr_match_source", "invert"};
const std::set<std::string, std::less<>> kHeadlessKeys = {
    "query_type", "network", "domain", "domain_suffix", "domain_keyword", "domain_regex", "source_ip_cidr",
    "ip_cidr", "source_port", "source_port_range", "port", "port_range", "process_name", "process_path",
    "process_path_regex", "package_name", "network_type", "network_is_expensive", "network_is_constrained",
    "wifi_ssid", "wifi_bssid", "network_interface_address", "default_interface_address", "invert"};
// Known to sing-box 1.13 but outside tailbox's host-proxy subset.
const std::set<std::string, std::less<>> kUnsupportedMatchKeys = {
    "package_name", "clash_mode", "network_type", "network_is_expensive", "network_is_constrained", "wifi_ssid",
    "wifi_bssid", "interface_address", "network_interface_address", "default_interface_address", "preferred_by"};
const std::set<std::string, std::less<>> kDnsOnlyKeys = {"query_type", "ip_accept_any", "outbound",
                                                         "rule_set_ip_cidr_accept_empty"};
const std::set<std::string, std::less<>> kRouteOptionKeys = {
    "override_address", "override_port", "network_strategy", "fallback_delay", "udp_disable_domain_unmapping",
    "udp_connect", "udp_timeout", "tls_fragment", "tls_fragment_fallback_delay", "tls_record_fragment"};
const std::set<std::string, std::less<>> kDialKeys = {
    "detour", "bind_interface", "inet4_bind_address", "inet6_bind_address", "bind_address_no_port",
    "routing_mark", "reuse_addr", "netns", "connect_timeout", "tcp_fast_open", "tcp_multi_path",
    "disable_tcp_keep_alive", "tcp_keep_alive", "tcp_keep_alive_interval", "udp_fragment", "domain_resolver",
    "domain_strategy", "network_strategy", "network_type", "fallback_network_type", "fallback_delay",
    "protect_path"};
const std::set<std::string, std::less<>> kSniffers = {"http", "tls", "quic", "stun", "dns", "bittorrent",
                                                      "dtls", "ssh", "rdp", "ntp"};

// Which of the key sets above a match key is in, with one hash lookup (compiling 100k rules
// classifies a few hundred thousand keys).
constexpr uint8_t kSupported = 1, kUnsupported = 2, kHeadless = 4, kDnsOnly = 8;
uint8_t key_class(std::string_view k) {
  static const auto table = [] {
    std::unordered_map<std::string_view, uint8_t> m;
    for (const auto& x : kSupportedMatchKeys) m[x] |= kSupported;
    for (const auto& x : kUnsupportedMatchKeys) m[x] |= kUnsupported;
    for (const auto& x : kHeadlessKeys) m[x] |= kHeadless;
    for (const auto& x : kDnsOnlyKeys) m[x] |= kDnsOnly;
    return m;
  }();
  auto it = table.find(k);
  return it == table.end() ? 0 : it->second;
}

}  // namespace

void RuleCompiler::error(const std::string& path, const std::string& msg, const std::string& kind) const {
  diags->push_back({Severity::kError, path, msg, kind});
}
void RuleCompiler::warn(const std::string& path, const std::string& msg, const std::string& kind) const {
  diags->push_back({Severity::kWarning, path, msg, kind});
}

std::optional<Rule> RuleCompiler::compile_rule(const Json& j, const std::string& path, bool headless, bool top,
                                               std::vector<std::string>* rest) const {
  Reader rd(*diags);
  if (!rd.expect_object(j, path)) return std::nullopt;
  Rule r;
  bool ok = true;
  std::string type = "default";
  if (auto it = j.find("type"); it != j.end()) {
    auto t = rd.string(*it, key_path(path, "type"));
    if (!t) return std::nullopt;
    if (!t->empty()) type = *t;
  }
  if (type == "logical") {
    r.logical = true;
    std::string mode;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      auto kp = key_path(path, k);
      if (k == "type") continue;
      if (k == "mode") {
        auto m = rd.string(it.value(), kp);
        if (!m) return std::nullopt;
        mode = *m;
      } else if (k == "rules") {
        if (!it.value().is_array()) {
          rd.error(kp, "json: cannot unmarshal " + json_type_name(it.value()) + " into Go value of type []Rule");
          ok = false;
          continue;
        }
        for (size_t i = 0; i < it.value().size(); ++i) {
          std::vector<std::string> sub_rest;
          auto sub = compile_rule(it.value()[i], index_path(kp, i), headless, false, headless ? nullptr : &sub_rest);
          if (!sub) {
            ok = false;
            continue;
          }
          // A sub-rule's own action fields are parsed and ignored (SPEC §3.3).
          if (!headless && !sub_rest.empty()) compile_action(it.value()[i], index_path(kp, i), sub_rest);
          r.rules.push_back(std::move(*sub));
        }
      } else if (k == "invert") {
        auto b = rd.boolean(it.value(), kp);
        if (!b) ok = false;
        else r.invert = *b;
      } else if (rest) {
        rest->push_back(k);
      } else {
        rd.error(path, "json: unknown field \"" + k + "\"");
        ok = false;
      }
    }
    if (mode != "and" && mode != "or") {
      error(key_path(path, "mode"), "unknown logical mode: " + mode, "create");
      return std::nullopt;
    }
    r.mode_and = mode == "and";
    r.empty = false;
    if (!ok) return std::nullopt;
    return r;
  }
  if (type != "default") {
    error(key_path(path, "type"), "unknown rule type: " + type, "parse");
    return std::nullopt;
  }

  // Default rule. First collect the values (strictness on keys), then build items in a fixed
  // order per group, as sing-box's NewDefaultRule does.
  std::vector<std::string> domains, suffixes, keywords, regexes, src_cidr, dst_cidr, src_pr, dst_pr;
  std::vector<uint16_t> src_ports, dst_ports;
  bool src_private = false, dst_private = false, match_source = false;
  std::vector<std::pair<std::string, std::vector<std::string>>> others;  // key → values
  std::vector<std::string> rule_sets, path_regex;
  std::vector<int64_t> user_ids;
  int ip_version = 0;
  bool query_type = false;
  std::string set_path;

  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const std::string_view kv = k;  // literal comparisons check the length first, no strlen
    const Json& v = it.value();
    if (kv == "type") continue;
    uint8_t cls = key_class(kv);
    bool known = headless ? (cls & kHeadless) != 0
                          : ((cls & (kSupported | kUnsupported)) != 0 || (dns && (cls & kDnsOnly)) ||
                             kv == "geosite" || kv == "geoip" || kv == "source_geoip" ||
                             kv == "rule_set_ipcidr_match_source");
    if (!known) {
      if (rest) {
        rest->push_back(k);
      } else {
        rd.error(path, "json: unknown field \"" + k + "\"");
        ok = false;
      }
      continue;
    }
    auto kp = key_path(path, k);
    if (kv == "geosite" || kv == "geoip" || kv == "source_geoip") {
      std::string db = kv == "geosite" ? "geosite" : "geoip";
      error(kp, db + " database is deprecated in sing-box 1.8.0 and removed in sing-box 1.12.0", "create");
      ok = false;
    } else if (kv == "rule_set_ipcidr_match_source") {
      error(kp, "rule_set_ipcidr_match_source is deprecated in sing-box 1.10.0 and removed in sing-box 1.11.0, "
                "use rule_set_ip_cidr_match_source instead", "create");
      ok = false;
    } else if ((cls & kUnsupported) && !(headless && v.is_null())) {
      error(kp, "\"" + k + "\" is not supported by tailbox (no such state on a host proxy)", "unsupported");
      ok = false;
    } else if (dns && (cls & kDnsOnly)) {
      if (kv == "outbound")
        warn(kp, "the outbound DNS rule item is deprecated in sing-box 1.12.0 and fatal in 1.13.0 unless "
                 "ENABLE_DEPRECATED_OUTBOUND_DNS_RULE_ITEM=true", "deprecated");
    } else if (kv == "query_type") {
      if (!v.is_null()) query_type = true;
    } else if (kv == "invert") {
      auto b = rd.boolean(v, kp);
      if (!b) ok = false;
      else r.invert = *b;
    } else if (kv == "ip_is_private" || kv == "source_ip_is_private" || kv == "rule_set_ip_cidr_match_source") {
      auto b = rd.boolean(v, kp);
      if (!b) {
        ok = false;
        continue;
      }
      (kv == "ip_is_private" ? dst_private : kv == "source_ip_is_private" ? src_private : match_source) = *b;
    } else if (kv == "ip_version") {
      auto n = rd.integer(v, kp, INT64_MIN, INT64_MAX, "int");
      if (!n) {
        ok = false;
        continue;
      }
      if (*n != 0 && *n != 4 && *n != 6) {
        error(kp, "invalid ip version: " + std::to_string(*n), "create");
        ok = false;
        continue;
      }
      ip_version = static_cast<int>(*n);
    } else if (kv == "port" || kv == "source_port") {
      auto p = rd.ports(v, kp);
      if (!p) {
        ok = false;
        continue;
      }
      (kv == "port" ? dst_ports : src_ports) = *p;
    } else if (kv == "user_id") {
      if (v.is_null()) continue;
      std::vector<int64_t> ids;
      auto one = [&](const Json& x, const std::string& p) {
        auto n = rd.integer(x, p, INT32_MIN, INT32_MAX, "int32");
        if (!n) ok = false;
        else ids.push_back(*n);
      };
      if (v.is_array())
        for (size_t i = 0; i < v.size(); ++i) one(v[i], index_path(kp, i));
      else
        one(v, kp);
      user_ids = ids;
    } else {
      auto s = rd.strings(v, kp);
      if (!s) {
        ok = false;
        continue;
      }
      if (kv == "domain" || kv == "domain_suffix") {
        for (size_t i = 0; i < s->size(); ++i) {
          if ((*s)[i].empty()) {
            error(kp, "domain: empty item is not allowed", "create");
            ok = false;
          }
        }
        (kv == "domain" ? domains : suffixes) = std::move(*s);
      } else if (kv == "domain_keyword") {
        keywords = *s;
      } else if (kv == "domain_regex") {
        regexes = *s;
      } else if (kv == "ip_cidr" || kv == "source_ip_cidr") {
        (kv == "ip_cidr" ? dst_cidr : src_cidr) = std::move(*s);
      } else if (kv == "port_range" || kv == "source_port_range") {
        (kv == "port_range" ? dst_pr : src_pr) = *s;
      } else if (kv == "rule_set") {
        rule_sets = *s;
        set_path = kp;
      } else if (kv == "process_path_regex") {
        path_regex = *s;
      } else {
        if (!s->empty()) others.emplace_back(k, *s);
      }
    }
  }

  // Items, grouped.
  auto cidrs = [&](const std::vector<std::string>& src, bool source, const std::string& key) -> ItemPtr {
    std::vector<Prefix> prefixes;
    for (size_t i = 0; i < src.size(); ++i) {
      auto p = Prefix::parse(src[i]);
      if (!p) {
        error(key_path(path, key), (source ? "source_ip_cidr" : "ipcidr") + std::string(": parse [") +
                                       std::to_string(i) + "]: netip.ParsePrefix(\"" + src[i] + "\"): invalid prefix",
              "create");
        ok = false;
        continue;
      }
      prefixes.push_back(*p);
    }
    return std::make_unique<CidrItem>(source, src, std::move(prefixes));
  };
  auto ranges = [&](const std::vector<std::string>& src, bool source, const std::string& key) -> ItemPtr {
    std::vector<PortRange> out;
    for (const auto& s : src) {
      auto colon = s.find(':');
      auto num = [&](std::string_view t, uint16_t def) -> std::optional<uint16_t> {
        if (t.empty()) return def;
        if (t.size() > 5 || !std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
          return std::nullopt;
        unsigned long n = std::stoul(std::string(t));
        if (n > 65535) return std::nullopt;
        return static_cast<uint16_t>(n);
      };
      std::optional<uint16_t> lo, hi;
      if (colon != std::string::npos) {
        lo = num(std::string_view(s).substr(0, colon), 0);
        hi = num(std::string_view(s).substr(colon + 1), 65535);
      }
      if (!lo || !hi) {
        error(key_path(path, key), "bad port range: " + s, "create");
        ok = false;
        continue;
      }
      out.push_back({*lo, *hi});
    }
    return std::make_unique<PortRangeItem>(source, src, std::move(out));
  };
  auto regex_item = [&](const std::vector<std::string>& src, const std::string& key) -> ItemPtr {
    std::vector<std::regex> res;
    for (size_t i = 0; i < src.size(); ++i) {
      try {
        res.emplace_back(src[i], std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        error(key_path(path, key), "parse expression " + std::to_string(i) + ": " + e.what(), "create");
        ok = false;
      }
    }
    return std::make_unique<RegexItem>(key, src, std::move(res));
  };

  if (!src_cidr.empty()) r.src_addr.push_back(cidrs(src_cidr, true, "source_ip_cidr"));
  if (src_private) r.src_addr.push_back(std::make_unique<PrivateItem>(true));
  if (!src_ports.empty()) r.src_port.push_back(std::make_unique<PortItem>(true, src_ports));
  if (!src_pr.empty()) r.src_port.push_back(ranges(src_pr, true, "source_port_range"));
  if (!domains.empty() || !suffixes.empty())
    r.dst_addr.push_back(std::make_unique<DomainItem>(std::move(domains), std::move(suffixes)));
  if (!keywords.empty()) r.dst_addr.push_back(std::make_unique<KeywordItem>(keywords));
  if (!regexes.empty()) r.dst_addr.push_back(regex_item(regexes, "domain_regex"));
  if (!dst_cidr.empty()) r.dst_cidr.push_back(cidrs(dst_cidr, false, "ip_cidr"));
  if (dst_private) r.dst_cidr.push_back(std::make_unique<PrivateItem>(false));
  if (!dst_ports.empty()) r.dst_port.push_back(std::make_unique<PortItem>(false, dst_ports));
  if (!dst_pr.empty()) r.dst_port.push_back(ranges(dst_pr, false, "port_range"));
  static const std::vector<std::pair<std::string, Field>> kOrder = {
      {"inbound", Field::kInbound},       {"network", Field::kNetwork},         {"auth_user", Field::kAuthUser},
      {"protocol", Field::kProtocol},     {"client", Field::kClient},           {"user", Field::kUser},
      {"process_name", Field::kProcessName}, {"process_path", Field::kProcessPath}};
  if (ip_version) r.other.push_back(std::make_unique<IpVersionItem>(ip_version));
  if (query_type) r.other.push_back(std::make_unique<NeverItem>("query_type"));
  for (const auto& [key, field] : kOrder) {
    for (const auto& [k, values] : others) {
      if (k != key) continue;
      if (k == "network") {
        for (const auto& n : values) {
          if (n != "tcp" && n != "udp" && n != "icmp") {
            error(key_path(path, k), "unknown network: " + n, "parse");
            ok = false;
          }
        }
      }
      r.other.push_back(std::make_unique<StringsItem>(k, field, values));
    }
  }
  if (!user_ids.empty()) r.other.push_back(std::make_unique<UserIdItem>(user_ids));
  for (const auto& [k, values] : others) r.needs_process = r.needs_process || k == "user" || k.rfind("process_", 0) == 0;
  r.needs_process = r.needs_process || !user_ids.empty() || !path_regex.empty();
  r.dst_private = dst_private;
  for (const auto& tag : rule_sets) r.mentions_tailnet = r.mentions_tailnet || tag.rfind("tailscale", 0) == 0;
  for (const auto& cidr : dst_cidr) r.mentions_tailnet = r.mentions_tailnet || cidr == "100.64.0.0/10";
  if (!path_regex.empty()) r.other.push_back(regex_item(path_regex, "process_path_regex"));
  if (!rule_sets.empty()) {
    std::vector<uint32_t> ids;
    for (const auto& tag : rule_sets) {
      auto it = set_ids ? set_ids->find(tag) : RuleSetIds::const_iterator{};
      if (!set_ids || it == set_ids->end()) {
        error(set_path, "rule-set not found: " + tag, "start");
        ok = false;
        continue;
      }
      ids.push_back(it->second);
    }
    r.other.push_back(std::make_unique<RuleSetItem>(rule_sets, ids, match_source));
  }
  r.empty = r.src_addr.empty() && r.src_port.empty() && r.dst_addr.empty() && r.dst_cidr.empty() &&
            r.dst_port.empty() && r.other.empty();
  (void)top;
  if (!ok) return std::nullopt;
  return r;
}

using KeySet = std::set<std::string, std::less<>>;

std::optional<Action> RuleCompiler::compile_action(const Json& j, const std::string& path,
                                                   const std::vector<std::string>& keys) const {
  Reader rd(*diags);
  Action a;
  std::string name;
  bool has_action = false;
  if (auto it = j.find("action"); it != j.end()) {
    auto s = rd.string(*it, key_path(path, "action"));
    if (!s) return std::nullopt;
    name = *s;
    has_action = !name.empty();
  }
  if (name.empty()) name = "route";
  static const KeySet kDnsRoute = {"server", "strategy", "disable_cache", "rewrite_ttl", "client_subnet"};
  static const KeySet kDnsOptions = {"disable_cache", "rewrite_ttl", "client_subnet"};
  static const KeySet kReject = {"method", "no_drop"};
  static const KeySet kPredefined = {"rcode", "answer", "ns", "extra"};
  static const KeySet kRoute = [] {
    KeySet k = kRouteOptionKeys;
    k.insert("outbound");
    return k;
  }();
  static const KeySet kSniff = {"sniffer", "timeout"};
  static const KeySet kNone = {};
  const KeySet* allowed = &kNone;
  bool lenient = false;
  if (dns) {
    if (name == "route") {
      a.type = ActionType::kRoute;
      allowed = &kDnsRoute;
    } else if (name == "route-options") {
      a.type = ActionType::kRouteOptions;
      allowed = &kDnsOptions;
      lenient = true;
    } else if (name == "reject") {
      a.type = ActionType::kReject;
      allowed = &kReject;
      lenient = true;
    } else if (name == "predefined") {
      a.type = ActionType::kRouteOptions;
      allowed = &kPredefined;
    } else {
      error(key_path(path, "action"), "unknown rule action: " + name, "parse");
      return std::nullopt;
    }
  } else if (name == "route" || name == "bypass") {
    a.type = name == "route" ? ActionType::kRoute : ActionType::kBypass;
    allowed = &kRoute;
  } else if (name == "route-options") {
    a.type = ActionType::kRouteOptions;
    allowed = &kRouteOptionKeys;
    lenient = true;
  } else if (name == "reject") {
    a.type = ActionType::kReject;
    allowed = &kReject;
    lenient = true;
  } else if (name == "hijack-dns") {
    a.type = ActionType::kHijackDns;
  } else if (name == "sniff") {
    a.type = ActionType::kSniff;
    allowed = &kSniff;
  } else if (name == "resolve") {
    a.type = ActionType::kResolve;
    allowed = &kDnsRoute;
  } else if (name == "direct") {
    a.type = ActionType::kDirect;
    allowed = &kDialKeys;
    lenient = true;
  } else {
    error(key_path(path, "action"), "unknown rule action: " + name, "parse");
    return std::nullopt;
  }
  bool ok = true;
  bool any_option = false;
  for (const auto& k : keys) {
    const std::string_view kv = k;
    if (kv == "action") continue;
    const Json& v = j.at(k);
    auto kp = key_path(path, k);
    if (!allowed->count(k)) {
      if (lenient) {
        warn(kp, "\"" + k + "\" is ignored by the " + name + " action (sing-box accepts it silently)", "ignored");
        continue;
      }
      rd.error(path, "json: unknown field \"" + k + "\"");
      ok = false;
      continue;
    }
    if (dns) continue;
    if (kv == "outbound" || kv == "method" || kv == "server" || kv == "strategy" || kv == "override_address" ||
        kv == "timeout") {
      auto s = rd.string(v, kp);
      if (!s) {
        ok = false;
        continue;
      }
      if (kv == "outbound") a.outbound = *s;
      if (kv == "method") a.method = s->empty() ? "default" : *s;
      if (kv == "server") a.server = *s;
      if (kv == "strategy") a.strategy = *s;
      if (kv == "override_address") a.override_address = *s, any_option = any_option || !s->empty();
      if (kv == "timeout") {
        if (!s->empty() && !parse_go_duration(*s)) {
          rd.error(kp, "time: invalid duration \"" + *s + "\"");
          ok = false;
        }
        a.timeout = *s;
      }
    } else if (kv == "override_port") {
      auto n = rd.integer(v, kp, 0, 65535, "uint16");
      if (!n) {
        ok = false;
        continue;
      }
      if (*n) a.override_port = static_cast<uint16_t>(*n), any_option = true;
    } else if (kv == "no_drop") {
      auto b = rd.boolean(v, kp);
      if (!b) ok = false;
      else a.no_drop = *b;
    } else if (kv == "sniffer") {
      auto s = rd.strings(v, kp);
      if (!s) {
        ok = false;
        continue;
      }
      for (const auto& x : *s) {
        if (!kSniffers.count(x)) {
          error(kp, "unknown sniffer: " + x, "parse");
          ok = false;
        }
      }
      a.sniffers = *s;
    } else if (!v.is_null() && !(v.is_boolean() && !v.get<bool>()) && !(v.is_string() && v.get<std::string>().empty())) {
      if (kv == "udp_timeout" || kv == "fallback_delay" || kv == "tls_fragment_fallback_delay") {
        if (!rd.duration_seconds(v, kp, kv == "udp_timeout")) {
          ok = false;
          continue;
        }
      }
      a.options.emplace_back(k, v.dump());
      any_option = true;
    }
  }
  if (!ok) return std::nullopt;
  if (a.type == ActionType::kReject && !dns) {
    if (a.method != "default" && a.method != "drop" && a.method != "reply") {
      error(key_path(path, "method"), "unknown reject method: " + a.method, "parse");
      return std::nullopt;
    }
    if (a.method == "drop" && a.no_drop) {
      error(key_path(path, "no_drop"), "no_drop is not available in current context", "parse");
      return std::nullopt;
    }
  }
  if (a.type == ActionType::kRouteOptions && !dns && !any_option) {
    error(path, "empty route option action", "parse");
    return std::nullopt;
  }
  bool has_tls_fragment = false, has_record_fragment = false;
  for (const auto& [k, v] : a.options) {
    has_tls_fragment = has_tls_fragment || k == "tls_fragment";
    has_record_fragment = has_record_fragment || k == "tls_record_fragment";
  }
  if (has_tls_fragment && has_record_fragment) {
    error(path, "`tls_fragment` and `tls_record_fragment` are mutually exclusive", "parse");
    return std::nullopt;
  }
  (void)has_action;
  return a;
}

std::optional<TopRule> RuleCompiler::compile_top(const Json& j, const std::string& path) const {
  std::vector<std::string> rest;
  auto rule = compile_rule(j, path, false, true, &rest);
  if (!j.is_object()) return std::nullopt;
  auto action = compile_action(j, path, rest);
  if (!rule || !action) return std::nullopt;
  if (!dns && action->type == ActionType::kRoute && action->outbound.empty()) {
    error(path, "missing outbound field", "create");
    return std::nullopt;
  }
  return TopRule{std::move(*rule), std::move(*action), path};
}

std::optional<Rule> RuleCompiler::compile_headless(const Json& j, const std::string& path) const {
  return compile_rule(j, path, true, false, nullptr);
}

}  // namespace tb::route
