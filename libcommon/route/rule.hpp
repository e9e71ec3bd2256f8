#pragma once
// Route rules: default and logical rules, their items and their actions, with sing-box 1.13's
// matching semantics (docs/singbox.md, "How fields combine" and "Rule-sets"; sing-box v1.13.19
// route/rule/rule_default.go, rule_abstract.go):
//   * a default rule sorts its items into four OR-groups (source address, source port, destination
//     address, destination port) and "other" items that are each AND'ed;
//   * a rule yields the set of match states (which groups are satisfied) it can end in, as
//     v1.13.19's route/rule/match_state.go: a rule_set's headless rules and a logical rule's
//     sub-rules start from the referencing rule's state and each keeps its own (rule-sets are
//     merged into their rule; route_cases rule-set-quirk-01, tests/fixtures/singbox/diff);
//   * MatchContext's group flags no longer take part; cidr_match_source is the rule-set item's
//     rule_set_ip_cidr_match_source while its sets are evaluated (rule_match.cpp).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "libcommon/route/diagnostic.hpp"
#include "libcommon/route/index.hpp"
#include "libcommon/route/request.hpp"

namespace tb::route {

class RuleSet;
class PreferredRoutes;
struct OutboundInfo;

// Per-connection state while rules are evaluated (sing-box's InboundContext + rule cache).
struct MatchContext {
  std::string_view inbound, network, user, protocol, client;  // point into the Request
  std::string_view domain;  // lower-cased: sniffed domain, else the destination FQDN; "" for IPs
  std::optional<IpAddr> dst_ip;
  std::vector<IpAddr> dst_addrs;  // resolved addresses (after `resolve`)
  uint16_t dst_port = 0;
  std::optional<IpAddr> src_ip;
  uint16_t src_port = 0;
  int ip_version = 0;  // 0 unknown
  bool sniffed = false;

  // Process owner, looked up on first use.
  std::optional<ProcessInfo> process;
  bool process_known = false;
  const ProcessSearcher* process_searcher = nullptr;
  const ProcessInfo* get_process();

  // Rule-sets by id (config sets, then the built-in tailnet sets).
  const std::vector<const RuleSet*>* sets = nullptr;
  // The tailscale endpoints' preferred routes (preferred_by); all endpoints share the daemon's.
  const PreferredRoutes* preferred = nullptr;

  // The group flags (docs/singbox.md, "How fields combine").
  bool src_addr_match = false, src_port_match = false, dst_addr_match = false, dst_port_match = false;
  bool did_match = false, cidr_match_source = false;
  void reset_flags() {
    src_addr_match = src_port_match = dst_addr_match = dst_port_match = did_match = cidr_match_source = false;
  }

  std::vector<MatchedItem>* record = nullptr;  // when set, hits are appended here
  void hit(const std::string& key, std::string value) {
    if (record) record->push_back({key, std::move(value)});
  }
};

class RuleItem {
 public:
  virtual ~RuleItem() = default;
  virtual bool match(MatchContext& c) const = 0;
  // sing-box's log description, e.g. "domain_suffix=[a b c...]".
  virtual std::string describe() const = 0;
};
using ItemPtr = std::unique_ptr<RuleItem>;

enum class GroupKind { kSrcAddr, kSrcPort, kDstAddr, kDstCidr, kDstPort, kOther };

// Static, indexable facts about a default rule's destination-address group, used by the router
// to skip rules that cannot match (see router.hpp).
struct IndexKeys {
  bool indexable = false;  // only domain/domain_suffix/ip_cidr in the dst-addr group, no rule_set, no invert
  bool pure = false;       // and nothing else: an index hit *is* a match
  // Point into the rule's items (stable: compiled rules are immutable).
  std::vector<const std::string*> domains, suffixes, cidr_texts;
  std::vector<const Prefix*> cidrs;
};

struct Rule {
  bool logical = false;
  bool invert = false;
  // default rule
  std::vector<ItemPtr> src_addr, src_port, dst_addr, dst_cidr, dst_port, other;
  bool empty = true;  // no items at all
  bool needs_process = false, dst_private = false, mentions_tailnet = false;
  // logical rule
  bool mode_and = true;
  std::vector<Rule> rules;

  bool match(MatchContext& c) const;
  std::string describe() const;
  IndexKeys index_keys() const;
  bool uses_process() const;
};

// A rule-set: headless rules evaluated against the referencing rule's flags.
class RuleSet {
 public:
  std::string tag;
  std::vector<Rule> rules;
  bool match(MatchContext& c) const;
};

struct Action {
  ActionType type = ActionType::kRoute;
  std::string outbound;
  std::string method = "default";  // reject
  bool no_drop = false;
  std::vector<std::string> sniffers;
  std::string timeout;
  std::string server, strategy;  // resolve
  // route-options (and the extra fields of route/bypass): override_address/override_port act on
  // the connection; the rest are carried for the relay.
  std::string override_address;
  std::optional<uint16_t> override_port;
  std::vector<std::pair<std::string, std::string>> options;  // other fields, key → JSON text
  // Set by the config compiler when a tag the action names (route's or bypass's outbound,
  // resolve's server) names nothing: sing-box starts, and each connection the action acts on
  // fails with this message.
  std::string error;
  bool final() const {
    return type == ActionType::kRoute || type == ActionType::kReject || type == ActionType::kHijackDns ||
           (type == ActionType::kBypass && !outbound.empty());
  }
  std::string describe() const;
};

struct TopRule {
  Rule rule;
  Action action;
  std::string path;  // route.rules[i]
};

// How rules refer to rule-sets: tag → id. Built-in tailnet tags are added by the config loader.
using RuleSetIds = std::unordered_map<std::string, uint32_t>;

struct RuleCompiler {
  const RuleSetIds* set_ids = nullptr;
  Diagnostics* diags = nullptr;
  bool dns = false;  // DNS rules: extra keys, different actions
  // The outbounds and endpoints preferred_by may name (route rules); without them every tag is unknown.
  const std::vector<OutboundInfo>* outbounds = nullptr;
  // The Clash API's mode clash_mode compares with (experimental.clash_api.default_mode); nullptr
  // when the config has no Clash API, and then no clash_mode item matches.
  const std::string* clash_mode = nullptr;

  // A route rule (route.rules[i]); nullopt on error (diagnostics added).
  std::optional<TopRule> compile_top(const nlohmann::ordered_json& j, const std::string& path) const;
  // A headless rule (rule_set[i].rules[j]).
  std::optional<Rule> compile_headless(const nlohmann::ordered_json& j, const std::string& path) const;

 private:
  // rest: where a top rule's other keys (its action's) go; without it they are unknown fields.
  std::optional<Rule> compile_rule(const nlohmann::ordered_json& j, const std::string& path, bool headless,
                                   std::vector<std::string>* rest) const;
  std::optional<Rule> compile_logical(const nlohmann::ordered_json& j, const std::string& path, bool headless,
                                      std::vector<std::string>* rest) const;
  bool compile_sub_rules(const nlohmann::ordered_json& v, const std::string& path, bool headless,
                         std::vector<Rule>& out) const;
  std::optional<Action> compile_action(const nlohmann::ordered_json& j, const std::string& path,
                                       const std::vector<std::string>& keys) const;
  void error(const std::string& path, const std::string& msg, const std::string& kind) const;
  void warn(const std::string& path, const std::string& msg, const std::string& kind) const;
};

}  // namespace tb::route
