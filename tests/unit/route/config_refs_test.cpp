// Tags one part of a config names in another (config_refs.cpp), as sing-box v1.13.19 resolves
// them: at start (route.final, detours, dns.final: errors, sing-box refuses to run) or per
// connection (a rule's outbound, a resolve action's server: warnings at check, and each
// connection the rule decides fails with sing-box's message).

#include <gtest/gtest.h>

#include <string>

#include "libcommon/route/config.hpp"
#include "libcommon/route/router.hpp"
#include "tests/unit/route/diagnostics.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

std::string errors(const RouteConfig& c) { return diagnostic_lines(c, Severity::kError, true); }
std::string warnings(const RouteConfig& c) { return diagnostic_lines(c, Severity::kWarning, true); }

Decision decide(const std::shared_ptr<RouteConfig>& c, const char* host, uint16_t port = 80) {
  Request req;
  req.destination_host = host;
  req.destination_port = port;
  Router r(c);
  return r.decide(req, {true});
}

TEST(ConfigRefs, MissingRuleOutboundIsAWarningAndFailsTheConnectionsTheRuleDecides) {
  auto c = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"}],
    "route":{"rules":[{"domain":"x.test","outbound":"nope"},{"domain":"y.test","action":"bypass","outbound":"gone"},
                      {"type":"logical","mode":"or","rules":[{"domain":"z.test","outbound":"sub"}],"outbound":"d"}],
             "final":"d"}})"));
  EXPECT_EQ(errors(*c), "");
  EXPECT_EQ(warnings(*c),
            "route.rules[0].outbound: outbound not found: nope (sing-box starts; each connection this rule decides "
            "fails) [runtime]\n"
            "route.rules[1].outbound: outbound not found: gone (sing-box starts; each connection this rule decides "
            "fails) [runtime]\n");
  auto x = decide(c, "x.test");
  EXPECT_EQ(x.rule_index, 0u);
  EXPECT_EQ(x.outbound, "nope");
  EXPECT_EQ(x.error, "outbound not found: nope");
  EXPECT_EQ(decide(c, "y.test").error, "outbound not found: gone");
  auto z = decide(c, "z.test");  // a logical rule's sub-rule action is parsed and never used
  EXPECT_EQ(z.outbound, "d");
  EXPECT_EQ(z.error, "");
  auto other = decide(c, "w.test");
  EXPECT_TRUE(other.fell_through());
  EXPECT_EQ(other.error, "");
}

TEST(ConfigRefs, MissingResolveServerFailsOnlyConnectionsToANameItResolves) {
  auto c = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"}],
    "dns":{"servers":[{"type":"local","tag":"l"}]},
    "route":{"rules":[{"domain":"x.test","action":"resolve","server":"nope"},{"action":"resolve","server":"l"}],
             "final":"d"}})"));
  EXPECT_EQ(errors(*c), "");
  EXPECT_EQ(warnings(*c),
            "route.rules[0].server: DNS server not found: nope (sing-box starts; each connection to a domain this "
            "rule resolves fails) [runtime]\n");
  auto x = decide(c, "x.test");
  EXPECT_EQ(x.rule_index, 0u);
  EXPECT_EQ(x.action, ActionType::kResolve);
  EXPECT_EQ(x.error, "DNS server not found: nope");
  Request ip;  // an address is not resolved, so the missing server is never looked up
  ip.destination_host = "10.0.0.1";
  ip.destination_port = 80;
  EXPECT_EQ(Router(c).decide(ip).error, "");
}

TEST(ConfigRefs, MissingDnsRuleServerIsAWarning) {
  auto c = compile_config(Json::parse(R"({"dns":{"servers":[{"type":"local","tag":"l"}],
    "rules":[{"domain":"x.test","server":"nope"},{"domain":"y.test","server":"l"},{"domain":"z","action":"reject"}]}})"));
  EXPECT_EQ(errors(*c), "");
  EXPECT_EQ(warnings(*c),
            "dns.rules[0].server: DNS server not found: nope (sing-box starts; each query this rule matches skips "
            "it) [runtime]\n");
}

TEST(ConfigRefs, StartTimeReferencesAreErrorsWithTheirPaths) {
  auto c = compile_config(Json::parse(R"({
    "outbounds":[{"type":"direct","tag":"d"},{"type":"socks","tag":"s","server":"127.0.0.1","server_port":1,"detour":"nope"}],
    "dns":{"servers":[{"type":"local","tag":"l"},{"type":"udp","tag":"u","server":"1.1.1.1","detour":"gone"},
                      {"type":"udp","tag":"v","server":"dns.test","domain_resolver":"none"}],
           "final":"missing"},
    "route":{"default_domain_resolver":"l"}})"));
  EXPECT_EQ(errors(*c),
            "dns.servers[1].detour: outbound detour not found: gone [start]\n"
            "dns.servers[2].domain_resolver: dependency[none] not found for server[v] [start]\n"
            "dns.final: default DNS server not found: missing [start]\n"
            "outbounds[1].detour: dependency[nope] not found for outbound[s] [start]\n");
}

TEST(ConfigRefs, CircularDetoursAreAnError) {
  auto c = compile_config(Json::parse(R"({"outbounds":[
    {"type":"socks","tag":"a","server":"127.0.0.1","server_port":1,"detour":"b"},
    {"type":"http","tag":"b","server":"127.0.0.1","server_port":2,"detour":"a"}]})"));
  EXPECT_EQ(errors(*c), "outbounds[0].detour: circular outbound dependency: a -> b -> a [start]\n");
}

TEST(ConfigRefs, DomainResolversMustNameADnsServer) {
  auto c = compile_config(Json::parse(R"({"dns":{"servers":[{"type":"local","tag":"l"}]},
    "outbounds":[{"type":"direct","tag":"d","domain_resolver":"nope"},
                 {"type":"socks","tag":"s","server":"proxy.test","server_port":1,"domain_resolver":{"server":"gone"}},
                 {"type":"socks","tag":"ip","server":"127.0.0.1","server_port":1,"domain_resolver":"unused"},
                 {"type":"direct","tag":"ok","domain_resolver":"l"},
                 {"type":"socks","tag":"via","server":"proxy.test","server_port":1,"detour":"ok"},
                 {"type":"direct","tag":"plain"}],
    "endpoints":[{"type":"tailscale","tag":"ts","domain_resolver":"absent"}],
    "route":{"default_domain_resolver":"missing"}})"));
  EXPECT_EQ(errors(*c),
            "outbounds[0].domain_resolver: domain resolver not found: nope [create]\n"
            "outbounds[1].domain_resolver: domain resolver not found: gone [create]\n"
            "endpoints[0].domain_resolver: domain resolver not found: absent [create]\n"
            "route.default_domain_resolver: default domain resolver not found: missing [create]\n");
}

// The default resolver is looked up only by dialers without their own: none here, so no error;
// with no outbound at all, sing-box's implicit direct outbound looks it up when it starts.
TEST(ConfigRefs, DefaultDomainResolverOnlyWhereADialerUsesIt) {
  auto own = compile_config(Json::parse(R"({"dns":{"servers":[{"type":"local","tag":"l"}]},
    "outbounds":[{"type":"direct","tag":"ok","domain_resolver":"l"},
                 {"type":"socks","tag":"via","server":"p.test","server_port":1,"detour":"ok"}],
    "route":{"default_domain_resolver":"missing"}})"));
  EXPECT_EQ(errors(*own), "");
  auto implicit = compile_config(Json::parse(R"({"route":{"default_domain_resolver":"missing"}})"));
  EXPECT_EQ(errors(*implicit), "route.default_domain_resolver: default domain resolver not found: missing [start]\n");
}

// An inbound's detour hands its connections to another inbound, which runs its own handshake on
// them (route/route.go, routeConnection); tailbox's relay cannot, so it refuses rather than ignore it.
TEST(ConfigRefs, InboundDetourIsNotSupported) {
  auto c = compile_config(Json::parse(R"({"inbounds":[{"type":"mixed","tag":"a","detour":"b"},
    {"type":"socks","tag":"b"},{"type":"http","tag":"c","detour":""}]})"));
  EXPECT_EQ(errors(*c), "inbounds[0].detour: detour of inbound type \"mixed\" is not supported by tailbox [unsupported]\n");
}

}  // namespace
}  // namespace tb::route
