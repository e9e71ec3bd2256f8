// Evaluating and describing rules and actions; the items themselves are in rule_items.cpp.
#include <algorithm>

#include "libcommon/route/rule.hpp"
#include "libcommon/route/rule_items.hpp"

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

bool any_match(const std::vector<ItemPtr>& items, MatchContext& c) {
  for (const auto& i : items)
    if (i->match(c)) return true;
  return false;
}

}  // namespace

// docs/singbox.md, "How fields combine", step by step (route/rule/rule_abstract.go in sing-box).
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

}  // namespace tb::route
