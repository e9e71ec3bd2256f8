#include "libcommon/route/router.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "libcommon/core/strings.hpp"

namespace tb::route {

using core::json_quote;
using core::lower;
using core::lower_in_place;

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

// Rule i's values into the indexes, or into `always` when the index cannot take the rule.
void index_rule(RuleIndex& idx, uint32_t i, const Rule& rule, uint16_t outbound) {
  IndexKeys k = rule.index_keys();
  if (!k.indexable) {
    idx.always.push_back(i);
    return;
  }
  if (k.pure) idx.flags[i] |= RuleIndex::kPure;
  auto entry = [&](uint8_t kind, const std::string* text) {
    idx.entries.push_back({i, outbound, idx.flags[i], kind, static_cast<uint32_t>(text->size()), text->data()});
    return static_cast<uint32_t>(idx.entries.size() - 1);
  };
  for (const auto* d : k.domains) idx.domains.add_exact(*d, entry(0, d));
  for (const auto* s : k.suffixes) idx.domains.add_suffix(*s, entry(1, s));
  for (size_t n = 0; n < k.cidrs.size(); ++n) idx.cidrs.add(*k.cidrs[n], entry(2, k.cidr_texts[n]));
}

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
    index_rule(*idx, i, c.rules[i].rule, outbound);
  }
  return index;
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
  preferred_ = config_->endpoints.empty() ? PreferredRoutes() : PreferredRoutes(tailnet_, accept_routes);
  magic_dns_ = magic_dns_table(tailnet_);
  sets_.clear();
  for (const auto& s : config_->rule_sets) sets_.push_back(s.get());
  sets_.resize(config_->tailnet_set_base, nullptr);
  for (const auto& s : tailnet_sets_) sets_.push_back(s.get());
  self_ips_.clear();
  if (tailnet_.self) self_ips_ = tailnet_.self->ips;
}

// One decision, following sing-box's match loop (route/route.go, matchRule; docs/singbox.md,
// "The router loop and descriptions"): the rules in order, each non-final action (sniff, resolve,
// route-options) changing the connection for the rules after it, until a final action or the end
// (the default outbound). Only the rules the index returns, plus those it cannot exclude, are
// evaluated.
class Router::Decider {
 public:
  // Writes the decision into d (the caller's, so that decide returns it without a copy).
  Decider(const Router& router, const Request& req, const Options& opts, Decision& d);
  void run();

 private:
  // What a rule's action did to the connection.
  enum class Effect { kNone, kChanged, kDecided };

  void set_destination(std::string_view h, IpAddr::Mapped mapped = IpAddr::Mapped::kUnmap);
  void refresh_domain() { c_.domain = !sniffed_domain_.empty() ? sniffed_domain_ : fqdn_; }
  void rewrite_endpoint_self();
  // Candidates.
  void collect(size_t from);
  size_t next(size_t from);
  size_t hit_rule(size_t n) const { return static_cast<size_t>(hits_[n] >> 32); }
  const RuleIndex::Entry* pure_hit(size_t i) const;
  // Rule i: evaluated and applied; true when the decision is made.
  bool step(size_t i);
  Effect sniff(size_t i, const Action& a);
  Effect resolve(size_t i, const TopRule& r, const RuleIndex::Entry* pure);
  Effect override_destination(size_t i, const Action& a);
  void add_step(size_t i, const Action& a);
  std::vector<MatchedItem> matched_items(const TopRule& r, const RuleIndex::Entry* pure);
  void answer_simple(size_t i, const RuleIndex::Entry& e);
  void take(size_t i, const TopRule& r, const RuleIndex::Entry* pure);
  void take_default();

  const Router& router_;
  const RuleIndex& index_;
  const Request& req_;
  const Options& opts_;
  Decision& d_;
  MatchContext c_;
  std::string fqdn_;            // destination when it is a name
  std::string sniffed_domain_;  // c_.domain views fqdn_ or sniffed_domain_
  // (rule, entry) pairs from the indexes, sorted; the smallest entry of a rule is its first value.
  Hits hits_;
  size_t hi_ = 0;                                // next candidate in hits_
  std::vector<uint32_t>::const_iterator ai_;     // next candidate in index_.always
};

Router::Decider::Decider(const Router& router, const Request& req, const Options& opts, Decision& d)
    : router_(router), index_(*router.index_), req_(req), opts_(opts), d_(d) {
  c_.inbound = req.inbound;
  c_.network = req.network;
  c_.user = req.user;
  c_.src_ip = req.source_ip;
  c_.src_port = req.source_port;
  c_.dst_port = req.destination_port;
  c_.sets = &router.sets_;
  c_.preferred = &router.preferred_;
  c_.process_searcher = router.process_;
  if (req.process) {
    c_.process = req.process;
    c_.process_known = true;
  }
  set_destination(req.destination_host);
  rewrite_endpoint_self();
  refresh_domain();
  // Once, as sing-box's route.go before its match loop: an override_address does not change it.
  c_.ip_version = c_.dst_ip ? (c_.dst_ip->v4 ? 4 : 6) : 0;
}

void Router::Decider::set_destination(std::string_view h, IpAddr::Mapped mapped) {
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  c_.dst_ip = IpAddr::parse(h, mapped);
  c_.dst_addrs.clear();
  if (c_.dst_ip) {
    fqdn_.clear();
  } else {
    fqdn_.assign(h);  // a trailing dot stays: sing-box matches "example.com." as it is
    lower_in_place(fqdn_);
  }
}

// Traffic from a tailscale endpoint to the node's own address goes to loopback (docs/singbox.md,
// "Traffic from the tailnet").
void Router::Decider::rewrite_endpoint_self() {
  if (!c_.dst_ip || !router_.config_->find_endpoint(req_.inbound)) return;
  const auto& self = req_.endpoint_self_ips.empty() ? router_.self_ips_ : req_.endpoint_self_ips;
  if (std::find(self.begin(), self.end(), *c_.dst_ip) != self.end()) set_destination(c_.dst_ip->v4 ? "127.0.0.1" : "::1");
}

void Router::Decider::run() {
  const size_t rules = router_.config_->rules.size();
  collect(0);
  for (size_t i = next(0); i < rules; i = next(i + 1))
    if (step(i)) break;
  if (!d_.rule_index) take_default();
  d_.destination = c_.dst_ip ? addr_text(*c_.dst_ip) : std::move(fqdn_);
  d_.destination_port = c_.dst_port;
}

// The indexed rules from `from` on that the destination (name, address, resolved addresses) hits.
void Router::Decider::collect(size_t from) {
  hits_.clear();
  auto add = [&](uint32_t e) {
    uint32_t rule = index_.entries[e].rule;
    if (rule >= from) hits_.push(uint64_t{rule} << 32 | e);
    return true;
  };
  if (!c_.domain.empty() && !index_.domains.empty()) index_.domains.lookup(c_.domain, add);
  if (!index_.cidrs.empty()) {
    if (c_.dst_ip) index_.cidrs.lookup(*c_.dst_ip, add);
    for (const auto& a : c_.dst_addrs) index_.cidrs.lookup(a, add);
  }
  if (hits_.size() > 1) {
    std::sort(hits_.begin(), hits_.end());
    hits_.truncate(static_cast<size_t>(std::unique(hits_.begin(), hits_.end()) - hits_.begin()));
  }
  hi_ = 0;
  ai_ = index_.always.begin();
}

// The first candidate rule at or after `from`: an index hit or a rule the index cannot exclude.
size_t Router::Decider::next(size_t from) {
  while (hi_ < hits_.size() && hit_rule(hi_) < from) ++hi_;
  if (ai_ != index_.always.end() && *ai_ < from)
    ai_ = std::lower_bound(ai_, index_.always.end(), static_cast<uint32_t>(from));
  size_t a = ai_ != index_.always.end() ? *ai_ : SIZE_MAX;
  size_t h = hi_ < hits_.size() ? hit_rule(hi_) : SIZE_MAX;
  return std::min(a, h);
}

// A pure indexed rule that the index returned matches without evaluation.
const RuleIndex::Entry* Router::Decider::pure_hit(size_t i) const {
  if (hi_ >= hits_.size() || hit_rule(hi_) != i) return nullptr;
  const RuleIndex::Entry& e = index_.entries[static_cast<uint32_t>(hits_[hi_])];
  return (e.flags & RuleIndex::kPure) ? &e : nullptr;
}

bool Router::Decider::step(size_t i) {
  const RuleIndex::Entry* pure = pure_hit(i);
  if (pure && (pure->flags & RuleIndex::kSimple) && !opts_.describe) {
    answer_simple(i, *pure);
    return true;
  }
  const TopRule& r = router_.config_->rules[i];
  if (!pure) {
    c_.reset_flags();
    if (!r.rule.match(c_)) return false;
  }
  const Action& a = r.action;
  Effect effect = Effect::kNone;
  switch (a.type) {
    case ActionType::kSniff: effect = sniff(i, a); break;
    case ActionType::kResolve: effect = resolve(i, r, pure); break;
    case ActionType::kRouteOptions:
    case ActionType::kRoute:
    case ActionType::kBypass: effect = override_destination(i, a); break;
    default: break;
  }
  if (effect == Effect::kDecided) return true;
  if (!a.final()) {
    if (effect == Effect::kChanged) collect(i + 1);
    return false;
  }
  take(i, r, pure);
  return true;
}

Router::Decider::Effect Router::Decider::sniff(size_t i, const Action& a) {
  add_step(i, a);
  if (c_.sniffed || server_first_port(c_.dst_port) || !req_.sniff) return Effect::kNone;
  const SniffResult& s = *req_.sniff;
  if (!a.sniffers.empty() && std::find(a.sniffers.begin(), a.sniffers.end(), s.protocol) == a.sniffers.end())
    return Effect::kNone;
  c_.sniffed = true;
  c_.protocol = s.protocol;
  c_.client = s.client;
  if (s.domain.empty()) return Effect::kNone;
  sniffed_domain_ = lower(s.domain);
  refresh_domain();
  return Effect::kChanged;
}

// A name is looked up (MagicDNS first, then the resolver); a failure fails the connection.
Router::Decider::Effect Router::Decider::resolve(size_t i, const TopRule& r, const RuleIndex::Entry* pure) {
  const Action& a = r.action;
  add_step(i, a);
  if (c_.dst_ip || fqdn_.empty()) return Effect::kNone;
  std::optional<std::vector<IpAddr>> addrs;
  const std::string name = core::without_trailing_dot(fqdn_);  // DNS names: "a.test." is "a.test"
  if (!a.error.empty()) {
    // The server names nothing: sing-box fails the connection before any lookup.
  } else if (auto it = router_.magic_dns_.find(name); it != router_.magic_dns_.end()) {
    addrs = it->second;
  } else if (router_.resolver_) {
    addrs = router_.resolver_->lookup(name);
  }
  if (!addrs || addrs->empty()) {
    d_.rule_index = i;
    if (opts_.items()) d_.matched_items = matched_items(r, pure);
    if (opts_.describe) d_.rule = r.rule.describe(), d_.action_text = a.describe();
    d_.action = ActionType::kResolve;
    d_.error = !a.error.empty() ? a.error
                                : "lookup failed: " + fqdn_ + (router_.resolver_ ? ": no such host" : ": no resolver configured");
    return Effect::kDecided;
  }
  if (a.strategy == "ipv4_only" || a.strategy == "ipv6_only") {
    bool v4 = a.strategy == "ipv4_only";
    addrs->erase(std::remove_if(addrs->begin(), addrs->end(), [&](const IpAddr& x) { return x.v4 != v4; }),
                 addrs->end());
  }
  c_.dst_addrs = *addrs;
  d_.resolved.clear();
  for (const auto& x : c_.dst_addrs) d_.resolved.push_back(x.str());
  return Effect::kChanged;
}

// override_address / override_port of route-options, route and bypass.
Router::Decider::Effect Router::Decider::override_destination(size_t i, const Action& a) {
  Effect effect = Effect::kNone;
  if (!a.override_address.empty()) {
    set_destination(a.override_address, IpAddr::Mapped::kKeep);  // M.ParseSocksaddrHostPort: not unmapped
    refresh_domain();
    effect = Effect::kChanged;
  }
  if (a.override_port) c_.dst_port = *a.override_port, effect = Effect::kChanged;
  if (a.type == ActionType::kRouteOptions) add_step(i, a);
  return effect;
}

void Router::Decider::add_step(size_t i, const Action& a) {
  d_.steps.push_back({i, opts_.describe ? a.describe() : std::string(action_name(a.type))});
}

// The items that made rule r match: from the index entry of a pure hit, else by evaluating the
// rule again with recording on.
std::vector<MatchedItem> Router::Decider::matched_items(const TopRule& r, const RuleIndex::Entry* pure) {
  if (pure) return std::vector<MatchedItem>{{RuleIndex::kKeys[pure->kind], json_quote(pure->value())}};
  c_.reset_flags();
  std::vector<MatchedItem> items;
  c_.record = &items;
  r.rule.match(c_);
  c_.record = nullptr;
  return items;
}

// The common case: a final route to an outbound, nothing to evaluate or rewrite.
void Router::Decider::answer_simple(size_t i, const RuleIndex::Entry& e) {
  d_.rule_index = i;
  d_.action = ActionType::kRoute;
  d_.outbound = index_.outbound_names[e.outbound];
  if (opts_.matched_items) d_.matched_items.push_back({RuleIndex::kKeys[e.kind], json_quote(e.value())});
  if (e.flags & RuleIndex::kNoOutbound) d_.error = "outbound not found: " + d_.outbound;
}

// Rule i's final action decides.
void Router::Decider::take(size_t i, const TopRule& r, const RuleIndex::Entry* pure) {
  const Action& a = r.action;
  d_.rule_index = i;
  d_.action = a.type == ActionType::kBypass ? ActionType::kRoute : a.type;
  d_.outbound = a.outbound;
  if (a.type == ActionType::kReject) d_.reject_method = a.method;
  if (opts_.items()) d_.matched_items = matched_items(r, pure);
  if (opts_.describe) {
    d_.rule = r.rule.describe();
    d_.action_text = a.describe();
  }
  if (index_.flags[i] & RuleIndex::kNoOutbound) d_.error = "outbound not found: " + a.outbound;
}

// No final rule: the default outbound.
void Router::Decider::take_default() {
  d_.outbound = router_.config_->final_outbound;
  d_.action = ActionType::kRoute;
  if (opts_.describe) d_.action_text = "route(" + d_.outbound + ")";
  if (index_.final_missing) d_.error = "default outbound not found: " + d_.outbound;
}

Decision Router::decide(const Request& req, const Options& opts) const {
  Decision d;
  Decider(*this, req, opts, d).run();
  return d;
}

}  // namespace tb::route
