#include "libcommon/route/router.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace tb::route {

struct RuleIndex {
  // Per rule: kPure (an index hit is a match), kNoOutbound (route/bypass to an unknown outbound),
  // kSimple (final route/bypass with an outbound and no override: nothing to do but answer).
  static constexpr uint8_t kPure = 1, kNoOutbound = 2, kSimple = 4;
  // One entry per indexed value; the indexes map values to entry numbers. An entry carries what
  // the common case needs (rule, its flags, its outbound), so a pure hit on a simple rule touches
  // the index slot, this entry and the value's bytes, not the rule.
  struct Entry {
    uint32_t rule;
    uint16_t outbound;  // into outbound_names (valid with kSimple)
    uint8_t flags;      // the rule's
    uint8_t kind;       // into kKeys
    uint32_t len;       // the value as written in the config
    const char* text;
    std::string_view value() const { return {text, len}; }
  };
  static constexpr const char* kKeys[] = {"domain", "domain_suffix", "ip_cidr"};
  std::vector<Entry> entries;
  DomainIndex domains;
  PrefixIndex cidrs;
  std::vector<uint32_t> always;  // rules the index cannot exclude, ascending
  std::vector<uint8_t> flags;    // per rule
  std::vector<std::string> outbound_names;
  bool final_missing = false;  // the default outbound is unknown (and came from route.final)
};

namespace {

std::shared_ptr<const RuleIndex> build_index(const RouteConfig& c) {
  auto index = std::make_shared<RuleIndex>();
  RuleIndex* idx = index.get();
  idx->flags.assign(c.rules.size(), 0);
  // Outbound tags are checked once here, not per decision.
  std::unordered_set<std::string_view> tags;
  tags.reserve(c.outbounds.size());
  for (const auto& o : c.outbounds) tags.insert(o.tag);
  idx->final_missing = c.final_from == "final" && !tags.count(c.final_outbound);
  std::unordered_map<std::string_view, uint16_t> outbound_ids;
  for (uint32_t i = 0; i < c.rules.size(); ++i) {
    const Action& a = c.rules[i].action;
    uint8_t& f = idx->flags[i];
    uint16_t outbound = 0;
    if ((a.type == ActionType::kRoute || a.type == ActionType::kBypass) && !tags.count(a.outbound))
      f |= RuleIndex::kNoOutbound;
    if ((a.type == ActionType::kRoute || a.type == ActionType::kBypass) && a.final() && a.override_address.empty() &&
        !a.override_port) {
      auto [it, added] = outbound_ids.try_emplace(a.outbound, static_cast<uint16_t>(idx->outbound_names.size()));
      if (added && idx->outbound_names.size() < UINT16_MAX) idx->outbound_names.push_back(a.outbound);
      if (it->second < idx->outbound_names.size()) {
        f |= RuleIndex::kSimple;
        outbound = it->second;
      }
    }
    IndexKeys k = c.rules[i].rule.index_keys();
    if (!k.indexable) {
      idx->always.push_back(i);
      continue;
    }
    if (k.pure) f |= RuleIndex::kPure;
    auto entry = [&](uint8_t kind, const std::string* text) {
      idx->entries.push_back({i, outbound, f, kind, static_cast<uint32_t>(text->size()), text->data()});
      return static_cast<uint32_t>(idx->entries.size() - 1);
    };
    for (const auto* d : k.domains) idx->domains.add_exact(*d, entry(0, d));
    for (const auto* s : k.suffixes) idx->domains.add_suffix(*s, entry(1, s));
    for (size_t n = 0; n < k.cidrs.size(); ++n) idx->cidrs.add(*k.cidrs[n], entry(2, k.cidr_texts[n]));
  }
  return index;
}

// Lower-case ASCII in place.
void lower_in_place(std::string& s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
}

std::string lower(std::string_view s) {
  std::string out(s);
  lower_in_place(out);
  return out;
}

// A string as a JSON literal, as Json(s).dump() writes it; plain printable ASCII takes a fast path.
std::string json_quote(std::string_view s) {
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\') return Json(std::string(s)).dump();
  }
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  out.append(s);
  out.push_back('"');
  return out;
}

// IpAddr::str() without inet_ntop for IPv4 (the common case; fits the small-string buffer).
std::string addr_text(const IpAddr& a) {
  if (!a.v4) return a.str();
  char buf[16];
  char* p = buf;
  for (int i = 0; i < 4; ++i) {
    unsigned v = a.bytes[i];
    if (i) *p++ = '.';
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
  }
  return std::string(buf, p);
}

// Candidate (rule, entry) pairs packed as rule << 32 | entry, so they sort by rule then entry.
// Small inline buffer: a decision usually has a handful; more spill to the heap.
class Hits {
 public:
  void clear() {
    n_ = 0;
    heap_.clear();
  }
  void push(uint64_t v) {
    if (!heap_.empty() || n_ == kInline) {
      if (heap_.empty()) heap_.assign(inline_, inline_ + n_);
      heap_.push_back(v);
      return;
    }
    inline_[n_++] = v;
  }
  uint64_t* begin() { return heap_.empty() ? inline_ : heap_.data(); }
  uint64_t* end() { return heap_.empty() ? inline_ + n_ : heap_.data() + heap_.size(); }
  size_t size() const { return heap_.empty() ? n_ : heap_.size(); }
  void truncate(size_t n) {
    if (heap_.empty()) n_ = n;
    else heap_.resize(n);
  }
  uint64_t operator[](size_t i) const { return heap_.empty() ? inline_[i] : heap_[i]; }

 private:
  static constexpr size_t kInline = 32;
  uint64_t inline_[kInline];
  size_t n_ = 0;
  std::vector<uint64_t> heap_;
};

bool server_first_port(uint16_t p) {
  return p == 25 || p == 465 || p == 587 || p == 143 || p == 993 || p == 110 || p == 995;
}

}  // namespace

Router::Router(std::shared_ptr<const RouteConfig> config, TailnetState tailnet)
    : Router(config, build_index(*config), std::move(tailnet)) {}

Router::Router(std::shared_ptr<const RouteConfig> config, std::shared_ptr<const RuleIndex> index, TailnetState tailnet)
    : config_(std::move(config)), index_(std::move(index)), tailnet_(std::move(tailnet)) {
  init_tailnet();
}

Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Router Router::with_tailnet(TailnetState tailnet) const {
  Router r(config_, index_, std::move(tailnet));
  r.resolver_ = resolver_;
  r.process_ = process_;
  return r;
}

size_t Router::unindexed_rules() const { return index_->always.size(); }

void Router::init_tailnet() {
  bool accept_routes = false;
  for (const auto& e : config_->endpoints) accept_routes = accept_routes || e.accept_routes;
  tailnet_sets_ = tailnet_rule_sets(tailnet_, accept_routes);
  magic_dns_ = magic_dns_table(tailnet_);
  sets_.clear();
  for (const auto& s : config_->rule_sets) sets_.push_back(s.get());
  sets_.resize(config_->tailnet_set_base, nullptr);
  for (const auto& s : tailnet_sets_) sets_.push_back(s.get());
  self_ips_.clear();
  if (tailnet_.self) self_ips_ = tailnet_.self->ips;
}

Decision Router::decide(const Request& req, const Options& opts) const {
  Decision d;
  MatchContext c;
  c.inbound = req.inbound;
  c.network = req.network;
  c.user = req.user;
  c.src_ip = req.source_ip;
  c.src_port = req.source_port;
  c.dst_port = req.destination_port;
  c.sets = &sets_;
  c.process_searcher = process_;
  if (req.process) {
    c.process = req.process;
    c.process_known = true;
  }
  std::string fqdn;  // destination when it is a name
  auto set_destination = [&](std::string_view h) {
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    c.dst_ip = IpAddr::parse(h);
    c.dst_addrs.clear();
    if (c.dst_ip) {
      fqdn.clear();
    } else {
      while (!h.empty() && h.back() == '.') h.remove_suffix(1);
      fqdn.assign(h);
      lower_in_place(fqdn);
    }
    c.ip_version = c.dst_ip ? (c.dst_ip->v4 ? 4 : 6) : 0;
  };
  std::string sniffed_domain;  // c.domain views fqdn or sniffed_domain
  auto refresh_domain = [&] { c.domain = !sniffed_domain.empty() ? sniffed_domain : fqdn; };
  set_destination(req.destination_host);
  // SPEC §2.6: traffic from a tailscale endpoint to the node's own address goes to loopback.
  if (c.dst_ip && config_->find_endpoint(req.inbound)) {
    const auto& self = req.endpoint_self_ips.empty() ? self_ips_ : req.endpoint_self_ips;
    if (std::find(self.begin(), self.end(), *c.dst_ip) != self.end())
      set_destination(c.dst_ip->v4 ? "127.0.0.1" : "::1");
  }
  refresh_domain();

  const auto& rules = config_->rules;
  // (rule, entry) pairs from the indexes, sorted; the smallest entry of a rule is its first value.
  Hits hits;
  auto hit_rule = [&](size_t n) { return static_cast<size_t>(hits[n] >> 32); };
  auto collect = [&](size_t from) {
    hits.clear();
    auto add = [&](uint32_t e) {
      uint32_t rule = index_->entries[e].rule;
      if (rule >= from) hits.push(uint64_t{rule} << 32 | e);
      return true;
    };
    if (!c.domain.empty() && !index_->domains.empty()) index_->domains.lookup(c.domain, add);
    if (!index_->cidrs.empty()) {
      if (c.dst_ip) index_->cidrs.lookup(*c.dst_ip, add);
      for (const auto& a : c.dst_addrs) index_->cidrs.lookup(a, add);
    }
    if (hits.size() > 1) {
      std::sort(hits.begin(), hits.end());
      hits.truncate(static_cast<size_t>(std::unique(hits.begin(), hits.end()) - hits.begin()));
    }
  };
  collect(0);
  size_t hi = 0;
  auto ai = index_->always.begin();
  auto next = [&](size_t from) -> size_t {
    while (hi < hits.size() && hit_rule(hi) < from) ++hi;
    if (ai != index_->always.end() && *ai < from)
      ai = std::lower_bound(ai, index_->always.end(), static_cast<uint32_t>(from));
    size_t a = ai != index_->always.end() ? *ai : SIZE_MAX;
    size_t h = hi < hits.size() ? hit_rule(hi) : SIZE_MAX;
    return std::min(a, h);
  };

  for (size_t i = next(0); i < rules.size(); i = next(i + 1)) {
    // A pure indexed rule that the index returned matches without evaluation.
    const RuleIndex::Entry* pure_hit = nullptr;
    if (hi < hits.size() && hit_rule(hi) == i) {
      const RuleIndex::Entry& e = index_->entries[static_cast<uint32_t>(hits[hi])];
      if (e.flags & RuleIndex::kPure) pure_hit = &e;
    }
    if (pure_hit && (pure_hit->flags & RuleIndex::kSimple) && !opts.describe) {
      // The common case: a final route to an outbound, nothing to evaluate or rewrite.
      d.rule_index = i;
      d.action = ActionType::kRoute;
      d.outbound = index_->outbound_names[pure_hit->outbound];
      if (opts.matched_items) d.matched_items.push_back({RuleIndex::kKeys[pure_hit->kind], json_quote(pure_hit->value())});
      if (pure_hit->flags & RuleIndex::kNoOutbound) d.error = "outbound not found: " + d.outbound;
      break;
    }
    const TopRule& r = rules[i];
    if (!pure_hit) {
      c.reset_flags();
      if (!r.rule.match(c)) continue;
    }
    const Action& a = r.action;
    auto record = [&] {
      if (pure_hit)
        return std::vector<MatchedItem>{{RuleIndex::kKeys[pure_hit->kind], json_quote(pure_hit->value())}};
      c.reset_flags();
      std::vector<MatchedItem> items;
      c.record = &items;
      r.rule.match(c);
      c.record = nullptr;
      return items;
    };
    bool changed = false;
    switch (a.type) {
      case ActionType::kSniff: {
        d.steps.push_back({i, opts.describe ? a.describe() : std::string(action_name(a.type))});
        if (c.sniffed || server_first_port(c.dst_port) || !req.sniff) break;
        const SniffResult& s = *req.sniff;
        if (!a.sniffers.empty() && std::find(a.sniffers.begin(), a.sniffers.end(), s.protocol) == a.sniffers.end())
          break;
        c.sniffed = true;
        c.protocol = s.protocol;
        c.client = s.client;
        if (!s.domain.empty()) {
          sniffed_domain = lower(s.domain);
          refresh_domain();
          changed = true;
        }
        break;
      }
      case ActionType::kResolve: {
        d.steps.push_back({i, opts.describe ? a.describe() : std::string(action_name(a.type))});
        if (c.dst_ip || fqdn.empty()) break;
        std::optional<std::vector<IpAddr>> addrs;
        if (auto it = magic_dns_.find(fqdn); it != magic_dns_.end()) addrs = it->second;
        else if (resolver_) addrs = resolver_->lookup(fqdn);
        if (!addrs || addrs->empty()) {
          d.rule_index = i;
          if (opts.items()) d.matched_items = record();
          if (opts.describe) d.rule = r.rule.describe(), d.action_text = a.describe();
          d.action = ActionType::kResolve;
          d.error = "lookup failed: " + fqdn + (resolver_ ? ": no such host" : ": no resolver configured");
          d.destination = std::move(fqdn);
          d.destination_port = c.dst_port;
          return d;
        }
        if (a.strategy == "ipv4_only" || a.strategy == "ipv6_only") {
          bool v4 = a.strategy == "ipv4_only";
          addrs->erase(std::remove_if(addrs->begin(), addrs->end(), [&](const IpAddr& x) { return x.v4 != v4; }),
                       addrs->end());
        }
        c.dst_addrs = *addrs;
        d.resolved.clear();
        for (const auto& x : c.dst_addrs) d.resolved.push_back(x.str());
        changed = true;
        break;
      }
      case ActionType::kRouteOptions:
      case ActionType::kRoute:
      case ActionType::kBypass: {
        if (!a.override_address.empty()) {
          set_destination(a.override_address);
          refresh_domain();
          changed = true;
        }
        if (a.override_port) c.dst_port = *a.override_port, changed = true;
        if (a.type == ActionType::kRouteOptions) d.steps.push_back({i, opts.describe ? a.describe() : std::string(action_name(a.type))});
        break;
      }
      default: break;
    }
    if (!a.final()) {
      if (changed) {
        collect(i + 1);
        hi = 0;
        ai = index_->always.begin();
      }
      continue;
    }
    d.rule_index = i;
    d.action = a.type == ActionType::kBypass ? ActionType::kRoute : a.type;
    d.outbound = a.outbound;
    if (a.type == ActionType::kReject) d.reject_method = a.method;
    if (opts.items()) d.matched_items = record();
    if (opts.describe) {
      d.rule = r.rule.describe();
      d.action_text = a.describe();
    }
    if (index_->flags[i] & RuleIndex::kNoOutbound) d.error = "outbound not found: " + a.outbound;
    break;
  }
  if (!d.rule_index) {
    d.outbound = config_->final_outbound;
    d.action = ActionType::kRoute;
    if (opts.describe) d.action_text = "route(" + d.outbound + ")";
    if (index_->final_missing) d.error = "default outbound not found: " + d.outbound;
  }
  d.destination = c.dst_ip ? addr_text(*c.dst_ip) : std::move(fqdn);
  d.destination_port = c.dst_port;
  return d;
}

}  // namespace tb::route
