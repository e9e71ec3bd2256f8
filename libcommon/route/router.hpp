#pragma once
// The one place where routing is decided. sb-route (explain, decide, plan) and sb-relay call
// Router::decide, so they can never disagree.
//
// Matching is sublinear in the rule count: rules whose destination-address group holds only
// domain / domain_suffix / ip_cidr items (the bulk of real configs) are indexed by value in a
// DomainIndex and a PrefixIndex. A decision looks up the host's labels and the destination
// address, gets the few candidate rules, merges them with the rules that cannot be indexed
// (logical, inverted, rule_set, keyword/regex, …) and evaluates only those, in config order,
// with full sing-box semantics. Non-final actions that change the connection (sniff, resolve,
// route-options) recompute the candidates for the remaining rules.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libcommon/route/config.hpp"
#include "libcommon/route/preferred.hpp"
#include "libcommon/route/request.hpp"
#include "libcommon/route/tailnet.hpp"

namespace tb::route {

struct RuleIndex;

class Router {
 public:
  explicit Router(std::shared_ptr<const RouteConfig> config, TailnetState tailnet = {});
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Same config and index, another tailnet state (cheap: the index is shared).
  Router with_tailnet(TailnetState tailnet) const;

  // describe: also fill Decision::rule, action_text and the step texts (sing-box's log wording),
  // for people (explain) and scripts (decide); the relay's hot path leaves them empty.
  // matched_items: also fill Decision::matched_items (implied by describe); the relay's hot path
  // does not read them, and building them costs an allocation per decision.
  struct Options {
    bool describe = false;
    bool matched_items = false;
    bool items() const { return describe || matched_items; }
  };
  Decision decide(const Request& req) const { return decide(req, Options{}); }
  Decision decide(const Request& req, const Options& opts) const;

  void set_resolver(const Resolver* r) { resolver_ = r; }
  void set_process_searcher(const ProcessSearcher* p) { process_ = p; }

  const RouteConfig& config() const { return *config_; }
  const TailnetState& tailnet() const { return tailnet_; }
  const MagicDnsTable& magic_dns() const { return magic_dns_; }
  // The rule-sets by id, as rules see them (config sets, then the tailnet sets): for DNS rules.
  const std::vector<const RuleSet*>& rule_sets() const { return sets_; }
  // The tailscale endpoints' preferred routes (preferred_by); empty without an endpoint.
  const PreferredRoutes& preferred() const { return preferred_; }
  // Number of rules the index could not take (they are evaluated for every connection).
  size_t unindexed_rules() const;

 private:
  Router(std::shared_ptr<const RouteConfig> config, std::shared_ptr<const RuleIndex> index, TailnetState tailnet);
  void init_tailnet();
  class Decider;  // one decision's state and steps (router.cpp)

  std::shared_ptr<const RouteConfig> config_;
  std::shared_ptr<const RuleIndex> index_;
  TailnetState tailnet_;
  MagicDnsTable magic_dns_;
  PreferredRoutes preferred_;
  std::vector<std::unique_ptr<RuleSet>> tailnet_sets_;
  std::vector<const RuleSet*> sets_;
  std::vector<IpAddr> self_ips_;
  const Resolver* resolver_ = nullptr;
  const ProcessSearcher* process_ = nullptr;
};

// A Resolver over a fixed name → addresses map (tests, `explain --dns`, route_cases "dns").
class StaticResolver : public Resolver {
 public:
  void add(const std::string& name, std::vector<IpAddr> addrs) { map_[name] = std::move(addrs); }
  std::optional<std::vector<IpAddr>> lookup(const std::string& name) const override {
    auto it = map_.find(name);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::vector<IpAddr>> map_;
};

}  // namespace tb::route
