// What sing-box 1.13.19 refuses when it decodes or creates the box, found by comparing with the
// real sing-box on configs from the wild (tests/fixtures/singbox/wild): tailbox refuses the same,
// at the same path.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "libcommon/route/config.hpp"
#include "tests/unit/route/diagnostics.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

std::string errors(const char* text) {
  return diagnostic_lines(*compile_config(Json::parse(text)), Severity::kError);
}
std::string warnings(const char* text) {
  return diagnostic_lines(*compile_config(Json::parse(text)), Severity::kWarning);
}

// experimental/deprecated/stderr.go: one minor release before the removal, a deprecated feature
// stops sing-box unless ENABLE_DEPRECATED_<NAME> is true.
TEST(SingBoxRefusals, ImpendingDeprecationsAreErrorsUnlessTheVariableIsTrue) {
  const char* legacy = R"({"dns":{"servers":[{"address":"local"}]}})";
  const std::string msg =
      "dns.servers[0]: legacy DNS server format is deprecated in sing-box 1.12.0 (fatal in 1.13.0 unless "
      "ENABLE_DEPRECATED_LEGACY_DNS_SERVERS=true); use a typed server\n";
  unsetenv("ENABLE_DEPRECATED_LEGACY_DNS_SERVERS");
  EXPECT_EQ(errors(legacy), msg);
  setenv("ENABLE_DEPRECATED_LEGACY_DNS_SERVERS", "true", 1);
  // sing-box then runs it; sb-relay cannot carry a legacy server out (config_dns.cpp).
  EXPECT_EQ(errors(legacy), "dns.servers[0]: legacy DNS server format is not supported by tailbox; use a typed server\n");
  EXPECT_EQ(warnings(legacy), msg);
  setenv("ENABLE_DEPRECATED_LEGACY_DNS_SERVERS", "yes", 1);  // not a Go bool
  EXPECT_EQ(errors(legacy), msg);
  unsetenv("ENABLE_DEPRECATED_LEGACY_DNS_SERVERS");
  EXPECT_NE(errors(R"({"outbounds":[{"type":"direct","domain_strategy":"prefer_ipv4"}]})"), "");
  EXPECT_NE(errors(R"({"dns":{"fakeip":{"enabled":true}}})"), "");
  EXPECT_NE(errors(R"({"dns":{"servers":[{"type":"local","tag":"l"}],"rules":[{"outbound":"x","server":"l"}]}})"), "");
}

TEST(SingBoxRefusals, MissingDomainResolverWithTwoDnsServers) {
  unsetenv("ENABLE_DEPRECATED_MISSING_DOMAIN_RESOLVER");
  const char* two = R"({"dns":{"servers":[{"type":"local","tag":"a"},{"type":"udp","tag":"b","server":"1.1.1.1"}]},
    "outbounds":[{"type":"direct","tag":"d"},{"type":"direct","tag":"e"}]})";
  EXPECT_EQ(errors(two),
            "outbounds[0]: missing `route.default_domain_resolver` or `domain_resolver` in dial fields is deprecated in "
            "sing-box 1.12.0 (fatal in 1.13.0 unless ENABLE_DEPRECATED_MISSING_DOMAIN_RESOLVER=true)\n");
  EXPECT_EQ(errors(R"({"dns":{"servers":[{"type":"local","tag":"a"},{"type":"local","tag":"b"}]},
    "outbounds":[{"type":"direct","tag":"d","domain_resolver":"a"},
                 {"type":"socks","tag":"s","server":"127.0.0.1","server_port":1}]})"), "");
  EXPECT_EQ(errors(R"({"dns":{"servers":[{"type":"local","tag":"a"},{"type":"local","tag":"b"}]},
    "outbounds":[{"type":"direct","tag":"d"}],"route":{"default_domain_resolver":"a"}})"), "");
  EXPECT_EQ(errors(R"({"dns":{"servers":[{"type":"local","tag":"a"}]},"outbounds":[{"type":"direct","tag":"d"}]})"), "");
}

// option/inbound.go: a legacy inbound field with a value is refused; zero values are accepted.
TEST(SingBoxRefusals, LegacyInboundFieldsWithAValue) {
  EXPECT_EQ(errors(R"({"inbounds":[{"type":"mixed","sniff":true,"sniff_timeout":"300ms"}]})"),
            "inbounds[0]: legacy inbound fields are deprecated in sing-box 1.11.0 and removed in sing-box 1.13.0, "
            "checkout migration: https://sing-box.sagernet.org/migration/#migrate-legacy-inbound-fields-to-rule-actions\n");
  EXPECT_EQ(errors(R"({"inbounds":[{"type":"mixed","sniff":false,"domain_strategy":""}]})"), "");
}

// dns/transport_manager.go, Create. Each fakeip server is also refused as not supported by tailbox
// (sb-relay hands out no fake addresses).
TEST(SingBoxRefusals, FakeipCannotBeTheDefaultServerAndThereIsOne) {
  const std::string f0 = "dns.servers[0].type: DNS server type \"fakeip\" is not supported by tailbox\n";
  const std::string f1 = "dns.servers[1].type: DNS server type \"fakeip\" is not supported by tailbox\n";
  const std::string f2 = "dns.servers[2].type: DNS server type \"fakeip\" is not supported by tailbox\n";
  EXPECT_EQ(errors(R"({"dns":{"servers":[{"type":"fakeip","tag":"f"}]}})"),
            f0 + "dns.servers[0]: default server cannot be fakeip\n");
  EXPECT_EQ(errors(R"({"dns":{"servers":[{"type":"local","tag":"l"},{"type":"fakeip","tag":"f"}],"final":"f"}})"),
            f1 + "dns.final: default server cannot be fakeip\n");
  EXPECT_EQ(errors(R"({"dns":{"servers":[{"type":"local","tag":"l"},{"type":"fakeip","tag":"f"},
    {"type":"fakeip","tag":"g"}]}})"), f1 + f2 + "dns.servers[2]: multiple fakeip server are not supported\n");
  EXPECT_EQ(errors(R"({"dns":{"servers":[{"type":"local","tag":"l"},{"type":"fakeip","tag":"f"}]}})"), f1);
}

TEST(SingBoxRefusals, EmptyInlineRuleSetAndTopLevelUnknownKeyPath) {
  EXPECT_EQ(errors(R"({"route":{"rule_set":[{"type":"inline","tag":"x","rules":[]},{"tag":"y"}]}})"),
            "route.rule_set[0]: empty inline rule-set\nroute.rule_set[1]: empty inline rule-set\n");
  EXPECT_EQ(errors(R"({"providers":{}})"), "providers: json: unknown field \"providers\"\n");
}

// option/experimental.go decodes experimental strictly, like the rest of the config.
TEST(SingBoxRefusals, UnknownKeysInExperimental) {
  EXPECT_EQ(errors(R"({"experimental":{"cache_file":{"enabled":true,"store_dns":true},"clash_api":{"mode":"x"},
    "v2ray_api":{},"debug":{},"other":{}}})"),
            "experimental: json: unknown field \"other\"\n"
            "experimental.cache_file: json: unknown field \"store_dns\"\n"
            "experimental.clash_api: json: unknown field \"mode\"\n");
}

// A type sing-box's release build does not know is its decode error, not a tailbox limitation.
TEST(SingBoxRefusals, UnknownTypesAreSingBoxsErrorKnownOnesNotSupported) {
  EXPECT_EQ(errors(R"({"outbounds":[{"type":"foo","tag":"a"},{"type":"vless","tag":"b"},{"tag":"c"}],
    "inbounds":[{"type":"tun"},{"type":"sockz"}],"endpoints":[{"type":"wireguard","tag":"w"},{"type":"x","tag":"y"}],
    "services":[{"type":"derp"},{"type":"bar"}]})"),
            "services[0]: service type \"derp\" is not supported by tailbox\n"
            "services[1]: unknown inbound type: bar\n"
            "inbounds[0]: inbound type \"tun\" is not supported by tailbox\n"
            "inbounds[1]: unknown inbound type: sockz\n"
            "outbounds[0]: unknown outbound type: foo\n"
            "outbounds[1]: outbound type \"vless\" is not supported by tailbox\n"
            "outbounds[2]: unknown outbound type: \n"
            "endpoints[0]: endpoint type \"wireguard\" is not supported by tailbox\n"
            "endpoints[1]: unknown endpoint type: x\n");
}

}  // namespace
}  // namespace tb::route
