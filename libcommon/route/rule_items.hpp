#pragma once
// The items a default rule is made of, one class per kind of match key (internal to the rule
// files: rule_match.cpp evaluates them, rule_compile.cpp builds them). Each item matches one
// connection, records which value hit, and describes itself as sing-box's log does
// (route/rule/rule_item_*.go in sing-box v1.13.19).

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "libcommon/route/index.hpp"
#include "libcommon/route/rule.hpp"

namespace tb::route {

// sing-box's description of a list: one value bare, up to three in brackets, more truncated.
std::string describe_list(const std::string& key, const std::vector<std::string>& values);

// ---- destination / source address items ----

// domain and domain_suffix together: sing-box builds them as one item.
class DomainItem : public RuleItem {
 public:
  DomainItem(std::vector<std::string> domains, std::vector<std::string> suffixes);
  bool match(MatchContext& c) const override;
  std::string describe() const override;
  const std::vector<std::string>& domains() const { return domains_; }
  const std::vector<std::string>& suffixes() const { return suffixes_; }

 private:
  std::vector<std::string> domains_, suffixes_;
  std::unique_ptr<DomainIndex> index_;
};

class KeywordItem : public RuleItem {
 public:
  explicit KeywordItem(std::vector<std::string> k) : keywords_(std::move(k)) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override;

 private:
  std::vector<std::string> keywords_;
};

// domain_regex, or process_path_regex (by key).
class RegexItem : public RuleItem {
 public:
  RegexItem(std::string key, std::vector<std::string> src, std::vector<std::regex> re)
      : key_(std::move(key)), src_(std::move(src)), re_(std::move(re)) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override;

 private:
  std::string key_;
  std::vector<std::string> src_;
  std::vector<std::regex> re_;
};

// ip_cidr or source_ip_cidr.
class CidrItem : public RuleItem {
 public:
  CidrItem(bool source, std::vector<std::string> src, std::vector<Prefix> prefixes);
  bool match(MatchContext& c) const override;
  std::string describe() const override;
  const std::vector<Prefix>& prefixes() const { return prefixes_; }
  const std::vector<std::string>& texts() const { return src_; }

 private:
  bool test(MatchContext& c, const IpAddr& a) const;
  bool source_;
  std::vector<std::string> src_;
  std::vector<Prefix> prefixes_;
  std::unique_ptr<PrefixIndex> index_;
};

// ip_is_private or source_ip_is_private.
class PrivateItem : public RuleItem {
 public:
  explicit PrivateItem(bool source) : source_(source) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override { return source_ ? "source_ip_is_private=true" : "ip_is_private=true"; }

 private:
  bool source_;
};

// ---- ports ----

class PortItem : public RuleItem {
 public:
  PortItem(bool source, std::vector<uint16_t> ports);
  bool match(MatchContext& c) const override;
  std::string describe() const override;

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
  bool match(MatchContext& c) const override;
  std::string describe() const override;

 private:
  bool source_;
  std::vector<std::string> src_;
  std::vector<PortRange> ranges_;
};

// ---- other items ----

enum class Field { kInbound, kNetwork, kAuthUser, kProtocol, kClient, kProcessName, kProcessPath, kUser };

// A string field of the connection or its process, compared for equality.
class StringsItem : public RuleItem {
 public:
  StringsItem(std::string key, Field f, std::vector<std::string> v) : key_(std::move(key)), f_(f), values_(std::move(v)) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override;

 private:
  std::string key_;
  Field f_;
  std::vector<std::string> values_;
};

class UserIdItem : public RuleItem {
 public:
  explicit UserIdItem(std::vector<int64_t> ids) : ids_(std::move(ids)) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override;

 private:
  std::vector<int64_t> ids_;
};

// clash_mode (route/rule/rule_item_clash_mode.go): the Clash API's mode, ignoring case. tailbox
// serves no Clash API, so the mode stays experimental.clash_api.default_mode and whether the item
// matches is known when the rule is compiled; without a Clash API it never matches.
class ClashModeItem : public RuleItem {
 public:
  ClashModeItem(std::string mode, bool matches) : mode_(std::move(mode)), matches_(matches) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override { return "clash_mode=" + mode_; }

 private:
  std::string mode_;
  bool matches_;
};

class IpVersionItem : public RuleItem {
 public:
  explicit IpVersionItem(int v) : v_(v) {}
  bool match(MatchContext& c) const override;
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

// preferred_by (route/rule/rule_item_preferred_by.go): the domain, the destination address or a
// resolved address is one of the endpoints' preferred routes. The compiler has checked that every
// tag is a tailscale endpoint; they all share the daemon's routes (MatchContext::preferred).
class PreferredByItem : public RuleItem {
 public:
  explicit PreferredByItem(std::vector<std::string> tags) : tags_(std::move(tags)) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override;
  const std::vector<std::string>& tags() const { return tags_; }

 private:
  std::vector<std::string> tags_;
};

class RuleSetItem : public RuleItem {
 public:
  RuleSetItem(std::vector<std::string> tags, std::vector<uint32_t> ids, bool match_source)
      : tags_(std::move(tags)), ids_(std::move(ids)), match_source_(match_source) {}
  bool match(MatchContext& c) const override;
  std::string describe() const override;
  const std::vector<std::string>& tags() const { return tags_; }
  const std::vector<uint32_t>& ids() const { return ids_; }
  bool match_source() const { return match_source_; }

 private:
  std::vector<std::string> tags_;
  std::vector<uint32_t> ids_;
  bool match_source_;
};

}  // namespace tb::route
