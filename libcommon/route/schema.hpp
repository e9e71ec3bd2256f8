#pragma once
// Every sing-box key tailbox knows, in one table: the object it belongs to (section), the value it
// holds (type), what tailbox does with it (support), and its place in the field order of
// sing-box 1.13.19's option structs (option/*.go, embedded structs expanded in place). The config
// checker asks which keys an object accepts, `sb-route format` asks for their order, ts-auth asks
// which endpoint keys are dial fields. Adding a key is one line here.

#include <span>
#include <string_view>
#include <vector>

namespace tb::route::schema {

enum class Section : unsigned char {
  kTop,            // the root object
  kLog,            // log
  kListen,         // inbound listen fields (option.ListenOptions)
  kLegacyInbound,  // inbound fields removed by 1.13 (option.InboundOptions)
  kInbound,        // mixed / socks / http inbound fields after the listen fields
  kUser,           // inbound users[]
  kDial,           // outbound dial fields (option.DialerOptions)
  kOutbound,       // direct / socks / http outbound fields after the dial fields
  kTailscale,      // the tailscale endpoint (option.TailscaleEndpointOptions)
  kRoute,          // route
  kRuleSet,        // route.rule_set[]
  kRouteRuleAction,  // route rule action fields, by action
  kRouteOptions,     // the route-options action fields (option.RouteOptionsActionOptions)
  kResolver,         // a domain resolver object (option.DomainResolveOptions)
  kDns,              // dns
  kDnsServer,        // typed dns.servers[] fields after the dial fields, by type
  kLegacyDnsServer,  // untyped (legacy) dns.servers[]
  kDnsRuleAction,    // dns rule action fields, by action
  kRule,             // a route rule's match fields (a default rule)
  kDnsRule,          // a dns rule's match fields
  kHeadlessRule,     // a rule-set rule's match fields
  kLogicalRule,      // a logical rule (route or dns)
  kExperimental,     // experimental
  kCacheFile,        // experimental.cache_file
  kClashApi,         // experimental.clash_api
};

enum class Type : unsigned char {
  kString, kBool, kInt, kMark, kPort, kDuration, kListable, kObject, kList, kAny
};

enum class Support : unsigned char {
  kCarried,   // checked and acted on by tailbox
  kAccepted,  // checked and accepted; nothing for a host proxy to do (sing-box-only tuning)
  kWarned,    // accepted with a warning (deprecated, or ignored in daemon-only mode)
  kRefused,   // sing-box knows it; tailbox reports it as not supported, with its path
  kRemoved,   // removed from sing-box before 1.13: an error naming the version, as sing-box
  kLater,     // not in sing-box 1.13's structs (a later version's): "unknown field", as 1.13
};

struct Key {
  Section section;
  std::string_view name;
  Type type;
  Support support;
  // Space-separated values of the object's "type" (or "action") the key belongs to; "" = all.
  std::string_view only = {};
};

// The whole table, section by section, each in sing-box's order.
std::span<const Key> table();

// The key's entry for an object of `variant` type ("" matches any entry), or nullptr.
const Key* find(Section s, std::string_view name, std::string_view variant = {});

// The keys sing-box 1.13 accepts in the section (support other than kLater) for that variant.
bool accepts(Section s, std::string_view name, std::string_view variant = {});

// Every key of the section (kLater ones too: a newer config still formats in order), in sing-box's
// order; with a variant, only the keys that belong to it.
std::vector<std::string_view> order(Section s, std::string_view variant = {});

// The dial fields (option.DialerOptions), for readers that only need to recognise them.
bool is_dial_key(std::string_view name);

}  // namespace tb::route::schema
