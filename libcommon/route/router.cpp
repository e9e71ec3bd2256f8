#include "libcommon/route/router.hpp"

#include <algorithm>

namespace tb::route {

struct RuleIndex {
  // One entry per indexed value; the indexes map values to entry numbers.
  struct Entry {
    uint32_t rule;
    const char* key;          // domain | domain_suffix | ip_cidr
    const std::string* text;  // the value as written in the config
  };
  std::vector<Entry> entries;
  DomainIndex domains;
  PrefixIndex cidrs;
  std::vector<uint32_t> always;  // rules the index cannot exclude, ascending
  std::vector<uint8_t> pure;     // per rule: an index hit is a match
};

namespace {

std::shared_ptr<const RuleIndex> build_index(const RouteConfig& c) {
  RuleIndex index;
  RuleIndex* idx = &index;
  idx->pure.assign(c.rules.size(), 0);
  for (uint32_t i = 0; i < c.rules.size(); ++i) {
    IndexKeys k = c.rules[i].rule.index_keys();
    if (!k.indexable) {
      idx->always.push_back(i);
      continue;
    }
    idx->pure[i] = k.pure ? 1 : 0;
    auto entry = [&](const char* key, const std::string* text) {
      idx->entries.push_back({i, key, text});
      return static_cast<uint32_t>(idx->entries.size() - 1);
    };
    for (const auto* d : k.domains) idx->domains.add_exact(*d, entry("domain", d));
    for (const auto* s : k.suffixes) idx->domains.add_suffix(*s, entry("domain_suffix", s));
    for (size_t n = 0; n < k.cidrs.size(); ++n) idx->cidrs.add(*k.cidrs[n], entry("ip_cidr", k.cidr_texts[n]));
  }
  return std::make_shared<const RuleIndex>(std::move(index));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

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
  auto set_destination = [&](const std::string& host) {
    std::string h = host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    c.dst_ip = IpAddr::parse(h);
    c.dst_addrs.clear();
    fqdn = c.dst_ip ? std::string() : lower(h);
    while (!fqdn.empty() && fqdn.back() == '.') fqdn.pop_back();
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
  std::vector<std::pair<uint32_t, uint32_t>> hits;
  auto collect = [&](size_t from) {
    hits.clear();
    auto add = [&](uint32_t e) {
      uint32_t rule = index_->entries[e].rule;
      if (rule >= from) hits.emplace_back(rule, e);
      return true;
    };
    if (!c.domain.empty()) index_->domains.lookup(c.domain, add);
    if (!index_->cidrs.empty()) {
      if (c.dst_ip) index_->cidrs.lookup(*c.dst_ip, add);
      for (const auto& a : c.dst_addrs) index_->cidrs.lookup(a, add);
    }
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  };
  collect(0);
  size_t hi = 0;
  auto ai = index_->always.begin();
  auto next = [&](size_t from) -> size_t {
    while (hi < hits.size() && hits[hi].first < from) ++hi;
    ai = std::lower_bound(ai, index_->always.end(), static_cast<uint32_t>(from));
    size_t a = ai != index_->always.end() ? *ai : SIZE_MAX;
    size_t h = hi < hits.size() ? hits[hi].first : SIZE_MAX;
    return std::min(a, h);
  };

  for (size_t i = next(0); i < rules.size(); i = next(i + 1)) {
    const TopRule& r = rules[i];
    // A pure indexed rule that the index returned matches without evaluation.
    const RuleIndex::Entry* pure_hit = nullptr;
    if (index_->pure[i] && hi < hits.size() && hits[hi].first == i) pure_hit = &index_->entries[hits[hi].second];
    if (!pure_hit) {
      c.reset_flags();
      if (!r.rule.match(c)) continue;
    }
    const Action& a = r.action;
    auto record = [&] {
      if (pure_hit) {
        std::string v = Json(*pure_hit->text).dump();
        return std::vector<MatchedItem>{{pure_hit->key, std::move(v)}};
      }
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
          d.matched_items = record();
          if (opts.describe) d.rule = r.rule.describe(), d.action_text = a.describe();
          d.action = ActionType::kResolve;
          d.error = "lookup failed: " + fqdn + (resolver_ ? ": no such host" : ": no resolver configured");
          d.destination = fqdn;
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
    d.matched_items = record();
    if (opts.describe) {
      d.rule = r.rule.describe();
      d.action_text = a.describe();
    }
    if ((a.type == ActionType::kRoute || a.type == ActionType::kBypass) && !config_->find_outbound(a.outbound))
      d.error = "outbound not found: " + a.outbound;
    break;
  }
  if (!d.rule_index) {
    d.outbound = config_->final_outbound;
    d.action = ActionType::kRoute;
    if (opts.describe) d.action_text = "route(" + d.outbound + ")";
    if (config_->final_from == "final" && !config_->find_outbound(d.outbound))
      d.error = "default outbound not found: " + d.outbound;
  }
  d.destination = c.dst_ip ? c.dst_ip->str() : fqdn;
  d.destination_port = c.dst_port;
  return d;
}

}  // namespace tb::route
