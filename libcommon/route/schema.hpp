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

// Every key sing-box 1.13 has is carried out, refused at check, or warned about at check (where
// sing-box itself ignores it on Linux, or it is deprecated); none is accepted silently and ignored.
// tests/unit/route/schema_test.cpp holds each carried key's proof (the tests that show it acted on).
enum class Support : unsigned char {
  kCarried,   // checked and acted on by tailbox
  kWarned,    // accepted with a warning at its path saying why (sing-box ignores it on Linux, ...)
  kRefused,   // sing-box knows it; check refuses it with its path and "not supported by tailbox"
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
  // For kWarned and kRefused keys the checker reports wherever the key has a value other than its
  // zero: the warning's one-line reason, or what is not supported. Empty when the key's own
  // section reports it (a refused type, a deprecation, a check across fields).
  std::string_view why = {};
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

// The name of a support value ("carried", "warned", ...), as `sb-route schema` prints it.
std::string_view support_name(Support s);
// The name of a section ("dial", "route", ...), as `sb-route schema` prints it.
std::string_view section_name(Section s);

// The dial fields (option.DialerOptions), for readers that only need to recognise them.
bool is_dial_key(std::string_view name);

}  // namespace tb::route::schema
