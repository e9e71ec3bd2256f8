#include "libcommon/route/rule_items.hpp"

#include <algorithm>

#include "libcommon/core/strings.hpp"
#include "libcommon/route/preferred.hpp"

namespace tb::route {

using core::json_quote;

std::string describe_list(const std::string& key, const std::vector<std::string>& values) {
  if (values.size() == 1) return key + "=" + values[0];
  std::string out = key + "=[";
  for (size_t i = 0; i < values.size() && i < 3; ++i) out += (i ? " " : "") + values[i];
  if (values.size() > 3) out += "...";
  return out + "]";
}

namespace {

constexpr size_t kSmall = 8;  // up to this many values an item scans; beyond it, it hashes

bool suffix_match(std::string_view host, std::string_view value) {
  if (!value.empty() && value[0] == '.') return host.size() > value.size() && host.ends_with(value);
  if (host.size() == value.size()) return host == value;
  return host.size() > value.size() && host.ends_with(value) && host[host.size() - value.size() - 1] == '.';
}

}  // namespace

// ---- destination / source address items ----

DomainItem::DomainItem(std::vector<std::string> domains, std::vector<std::string> suffixes)
    : domains_(std::move(domains)), suffixes_(std::move(suffixes)) {
  if (domains_.size() + suffixes_.size() <= kSmall) return;
  index_ = std::make_unique<DomainIndex>();
  for (size_t i = 0; i < domains_.size(); ++i) index_->add_exact(domains_[i], static_cast<uint32_t>(i));
  for (size_t i = 0; i < suffixes_.size(); ++i)
    index_->add_suffix(suffixes_[i], static_cast<uint32_t>(domains_.size() + i));
}

bool DomainItem::match(MatchContext& c) const {
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
      c.hit("domain", json_quote(domains_[best]));
    else
      c.hit("domain_suffix", json_quote(suffixes_[best - domains_.size()]));
  }
  return true;
}

std::string DomainItem::describe() const {
  std::string out;
  if (!domains_.empty()) out = describe_list("domain", domains_);
  if (!suffixes_.empty()) out += (out.empty() ? "" : " ") + describe_list("domain_suffix", suffixes_);
  return out;
}

bool KeywordItem::match(MatchContext& c) const {
  if (c.domain.empty()) return false;
  for (const auto& k : keywords_) {
    if (c.domain.find(k) != std::string_view::npos) {
      if (c.record) c.hit("domain_keyword", json_quote(k));
      return true;
    }
  }
  return false;
}

std::string KeywordItem::describe() const { return describe_list("domain_keyword", keywords_); }

bool RegexItem::match(MatchContext& c) const {
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
      if (c.record) c.hit(key_, json_quote(src_[i]));
      return true;
    }
  }
  return false;
}

std::string RegexItem::describe() const { return describe_list(key_, src_); }

CidrItem::CidrItem(bool source, std::vector<std::string> src, std::vector<Prefix> prefixes)
    : source_(source), src_(std::move(src)), prefixes_(std::move(prefixes)) {
  if (prefixes_.size() <= kSmall) return;
  index_ = std::make_unique<PrefixIndex>();
  for (size_t i = 0; i < prefixes_.size(); ++i) index_->add(prefixes_[i], static_cast<uint32_t>(i));
}

bool CidrItem::match(MatchContext& c) const {
  if (source_ || c.cidr_match_source) return c.src_ip && test(c, *c.src_ip);
  if (c.dst_ip) return test(c, *c.dst_ip);
  for (const auto& a : c.dst_addrs)
    if (test(c, a)) return true;
  return false;
}

std::string CidrItem::describe() const { return describe_list(source_ ? "source_ip_cidr" : "ip_cidr", src_); }

bool CidrItem::test(MatchContext& c, const IpAddr& a) const {
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
  if (c.record) c.hit(source_ ? "source_ip_cidr" : "ip_cidr", json_quote(src_[best]));
  return true;
}

bool PrivateItem::match(MatchContext& c) const {
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

// ---- ports ----

PortItem::PortItem(bool source, std::vector<uint16_t> ports) : source_(source), ports_(std::move(ports)) {
  sorted_ = ports_;
  std::sort(sorted_.begin(), sorted_.end());
}

bool PortItem::match(MatchContext& c) const {
  uint16_t p = source_ ? c.src_port : c.dst_port;
  if (!std::binary_search(sorted_.begin(), sorted_.end(), p)) return false;
  if (c.record) c.hit(source_ ? "source_port" : "port", std::to_string(p));
  return true;
}

std::string PortItem::describe() const {
  std::vector<std::string> s;
  for (auto p : ports_) s.push_back(std::to_string(p));
  return describe_list(source_ ? "source_port" : "port", s);
}

bool PortRangeItem::match(MatchContext& c) const {
  uint16_t p = source_ ? c.src_port : c.dst_port;
  for (size_t i = 0; i < ranges_.size(); ++i) {
    if (p >= ranges_[i].lo && p <= ranges_[i].hi) {
      if (c.record) c.hit(source_ ? "source_port_range" : "port_range", json_quote(src_[i]));
      return true;
    }
  }
  return false;
}

std::string PortRangeItem::describe() const {
  return describe_list(source_ ? "source_port_range" : "port_range", src_);
}

// ---- other items ----

bool StringsItem::match(MatchContext& c) const {
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
      if (c.record) c.hit(key_, json_quote(v));
      return true;
    }
  }
  return false;
}

std::string StringsItem::describe() const { return describe_list(key_, values_); }

bool UserIdItem::match(MatchContext& c) const {
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

std::string UserIdItem::describe() const {
  std::vector<std::string> s;
  for (auto i : ids_) s.push_back(std::to_string(i));
  return describe_list("user_id", s);
}

bool ClashModeItem::match(MatchContext& c) const {
  if (matches_ && c.record) c.hit("clash_mode", json_quote(mode_));
  return matches_;
}

bool IpVersionItem::match(MatchContext& c) const {
  // sing-box's IPVersionItem: the original destination's version (set before the match loop, kept
  // through overrides) or the current destination's.
  bool ok = c.ip_version == v_ || (c.dst_ip && (c.dst_ip->v4 ? 4 : 6) == v_);
  if (ok) c.hit("ip_version", std::to_string(v_));
  return ok;
}

bool PreferredByItem::match(MatchContext& c) const {
  const PreferredRoutes* p = c.preferred;
  if (!p) return false;
  bool ok = (!c.domain.empty() && p->domain(c.domain)) || (c.dst_ip && p->address(*c.dst_ip));
  for (size_t i = 0; !ok && i < c.dst_addrs.size(); ++i) ok = p->address(c.dst_addrs[i]);
  if (ok && c.record) c.hit("preferred_by", json_quote(tags_[0]));
  return ok;
}

// sing-box lists every tag (no truncation): preferred_by=ts-ep, preferred_by=[a b c d].
std::string PreferredByItem::describe() const {
  if (tags_.size() == 1) return "preferred_by=" + tags_[0];
  std::string out = "preferred_by=[";
  for (size_t i = 0; i < tags_.size(); ++i) out += (i ? " " : "") + tags_[i];
  return out + "]";
}

bool RuleSetItem::match(MatchContext& c) const {
  c.cidr_match_source = match_source_;
  for (size_t i = 0; i < ids_.size(); ++i) {
    const RuleSet* s = c.sets && ids_[i] < c.sets->size() ? (*c.sets)[ids_[i]] : nullptr;
    if (!s) continue;
    size_t mark = c.record ? c.record->size() : 0;
    if (s->match(c)) {
      if (c.record) c.record->insert(c.record->begin() + static_cast<long>(mark), {"rule_set", json_quote(tags_[i])});
      return true;
    }
    if (c.record) c.record->resize(mark);
  }
  return false;
}

std::string RuleSetItem::describe() const { return describe_list("rule_set", tags_); }

}  // namespace tb::route
