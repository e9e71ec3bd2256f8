// Evaluating and describing rules and actions; the items themselves are in rule_items.cpp.
#include <algorithm>

#include "libcommon/core/strings.hpp"
#include "libcommon/route/rule.hpp"
#include "libcommon/route/rule_items.hpp"

namespace tb::route {

using core::json_quote;

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

bool any_match(const std::vector<ItemPtr>& items, MatchContext& c) {
  for (const auto& i : items)
    if (i->match(c)) return true;
  return false;
}

// sing-box v1.13.19's match states (route/rule/match_state.go): a state is the set of OR-groups
// satisfied so far (bits below); a rule yields the set of states it can end in (bit s of a
// States = state s reachable), empty when it does not match. A rule-set's and a logical rule's
// branches start from the referencing rule's state (the base) and each keeps its own.
using States = uint16_t;
constexpr uint8_t kSrcAddr = 1, kSrcPort = 2, kDstAddr = 4, kDstPort = 8;

States single(uint8_t s) { return static_cast<States>(1u << s); }

States combine(States a, States b) {  // every pair of states OR'ed
  States out = 0;
  for (uint8_t l = 0; l < 16; ++l) {
    if (!(a >> l & 1)) continue;
    for (uint8_t r = 0; r < 16; ++r)
      if (b >> r & 1) out |= single(static_cast<uint8_t>(l | r));
  }
  return out;
}

States keep_with(States set, uint8_t need) {  // the states that have every group of `need`
  States out = 0;
  for (uint8_t s = 0; s < 16; ++s)
    if ((set >> s & 1) && (s & need) == need) out |= single(s);
  return out;
}

States rule_states(const Rule& r, MatchContext& c, uint8_t base);

// The first branch that matches is the one recorded (as sing-box's OR would stop there); the
// others are still evaluated, since their states count, but without recording.
struct FirstRecorded {
  MatchContext& c;
  std::vector<MatchedItem>* saved;
  explicit FirstRecorded(MatchContext& ctx) : c(ctx), saved(ctx.record) {}
  ~FirstRecorded() { c.record = saved; }
  void matched() { c.record = nullptr; }
};

// route/rule/rule_item_rule_set.go and rule_set_local.go matchStatesWithBase: each set with the
// item's match-source mode, each headless rule of it from `base` with its own state.
States rule_set_states(const RuleSetItem& item, MatchContext& c, uint8_t base) {
  const bool saved_source = c.cidr_match_source;
  FirstRecorded rec(c);
  States out = 0;
  for (size_t i = 0; i < item.ids().size(); ++i) {
    const RuleSet* s = c.sets && item.ids()[i] < c.sets->size() ? (*c.sets)[item.ids()[i]] : nullptr;
    if (!s) continue;
    std::vector<MatchedItem>* record = c.record;  // null once a set matched
    size_t mark = record ? record->size() : 0;
    States set = 0;
    for (const auto& r : s->rules) {
      c.cidr_match_source = item.match_source();
      States n = rule_states(r, c, base);
      set |= n;
      if (n) rec.matched();
    }
    if (set && record) record->insert(record->begin() + static_cast<long>(mark), {"rule_set", json_quote(item.tags()[i])});
    out |= set;
  }
  c.cidr_match_source = saved_source;
  return out;
}

// abstractLogicalRule.matchStatesWithBase: sub-rules start from the base (0 when inverted) with
// match-source mode off (ResetRuleCache); and = every pair of their states, or = any.
States logical_states(const Rule& r, MatchContext& c, uint8_t base) {
  const uint8_t from = r.invert ? 0 : base;
  const bool saved_source = c.cidr_match_source;
  size_t mark = c.record ? c.record->size() : 0;
  States set = r.mode_and ? single(from) : 0;
  {
    FirstRecorded rec(c);
    for (const auto& sub : r.rules) {
      c.cidr_match_source = false;
      States n = rule_states(sub, c, from);
      if (r.mode_and && !n) {
        set = 0;
        break;
      }
      set = r.mode_and ? combine(set, n) : set | n;
      if (n && !r.mode_and) rec.matched();
    }
  }
  c.cidr_match_source = saved_source;
  if (c.record && (!set || r.invert)) c.record->resize(mark);
  if (!set) {
    if (r.invert) c.hit("invert", "true");
    return r.invert ? single(base) : 0;
  }
  return r.invert ? 0 : set;
}

// abstractDefaultRule.matchStatesWithBase (docs/singbox.md, "How fields combine").
States default_states(const Rule& r, MatchContext& c, uint8_t base) {
  if (r.empty) return single(base);
  size_t mark = c.record ? c.record->size() : 0;
  auto fail = [&]() -> States {
    if (c.record) c.record->resize(mark);
    if (!r.invert) return 0;
    c.hit("invert", "true");
    return single(base);
  };
  uint8_t st = r.invert ? 0 : base;
  const bool cidr_src = c.cidr_match_source && !r.dst_cidr.empty();
  const bool cidr_dst = !c.cidr_match_source && !r.dst_cidr.empty();
  if (!r.src_addr.empty() && any_match(r.src_addr, c)) st |= kSrcAddr;
  if (cidr_src && !(st & kSrcAddr) && any_match(r.dst_cidr, c)) st |= kSrcAddr;
  if (!r.src_port.empty() && any_match(r.src_port, c)) st |= kSrcPort;
  if (!r.dst_addr.empty() && any_match(r.dst_addr, c)) st |= kDstAddr;
  if (cidr_dst && !(st & kDstAddr) && any_match(r.dst_cidr, c)) st |= kDstAddr;
  if (!r.dst_port.empty() && any_match(r.dst_port, c)) st |= kDstPort;
  const RuleSetItem* set_item = nullptr;
  for (const auto& item : r.other) {
    if (auto* s = dynamic_cast<const RuleSetItem*>(item.get())) {
      set_item = s;
    } else if (!item->match(c)) {
      return fail();
    }
  }
  States set = set_item ? rule_set_states(*set_item, c, st) : single(st);
  uint8_t need = 0;
  if (!r.src_addr.empty() || cidr_src) need |= kSrcAddr;
  if (!r.src_port.empty()) need |= kSrcPort;
  if (!r.dst_addr.empty() || cidr_dst) need |= kDstAddr;
  if (!r.dst_port.empty()) need |= kDstPort;
  set = keep_with(set, need);
  if (!set) return fail();
  if (!r.invert) return set;
  if (c.record) c.record->resize(mark);
  return 0;
}

States rule_states(const Rule& r, MatchContext& c, uint8_t base) {
  return r.logical ? logical_states(r, c, base) : default_states(r, c, base);
}

}  // namespace

bool Rule::match(MatchContext& c) const { return rule_states(*this, c, 0) != 0; }

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
    if (rule_states(r, c, 0)) return true;
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

}  // namespace tb::route
