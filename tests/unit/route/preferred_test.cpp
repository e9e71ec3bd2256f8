// preferred_by and the preferred routes it asks about (preferred.hpp): sing-box 1.13.19's
// protocol/tailscale/endpoint.go (onReconfig, PreferredDomain, PreferredAddress) and
// route/rule/rule_item_preferred_by.go, over a status record.

#include <gtest/gtest.h>

#include <string>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/preferred.hpp"
#include "libcommon/route/router.hpp"
#include "libcommon/route/rule_items.hpp"
#include "libcommon/route/tailnet.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

Json running_record() { return Json::parse(tb::test::read_fixture("route/status-running.jsonl")); }

TailnetState state(const Json& rec) {
  auto t = tailnet_from_status(rec);
  EXPECT_TRUE(t) << t.error().message;
  return t ? *t : TailnetState{};
}

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(PreferredRoutes, AddressesArePeersAllowedIpsAsTheWireGuardConfigHasThem) {
  TailnetState t = state(running_record());
  PreferredRoutes with(t, true), without(t, false);
  // A peer's own addresses, always.
  EXPECT_TRUE(with.address(ip("100.101.1.2")));
  EXPECT_TRUE(without.address(ip("fd7a:115c:a1e0::2")));
  EXPECT_TRUE(without.address(ip("100.101.1.3")));
  // Its subnet route only with accept_routes (nmcfg.go, cidrIsSubnet and AllowSubnetRoutes).
  EXPECT_TRUE(with.address(ip("192.168.1.7")));
  EXPECT_FALSE(without.address(ip("192.168.1.7")));
  // An exit node's default routes never (onReconfig skips /0), nor this node's own address.
  EXPECT_FALSE(with.address(ip("8.8.8.8")));
  EXPECT_FALSE(with.address(ip("2001:db8::1")));
  EXPECT_FALSE(with.address(ip("100.101.1.1")));
  EXPECT_EQ(with.prefixes().size(), 4u);  // nas: 2 addresses and its route; exit-fra: its address
  EXPECT_EQ(without.prefixes().size(), 3u);
}

TEST(PreferredRoutes, ExpiredPeersAndSingleHostRoutes) {
  Json rec = running_record();
  rec["peers"][0]["key_expired"] = true;
  // A /32 that is not one of the node's addresses is a subnet route.
  rec["peers"][1]["allowed_ips"].push_back("10.77.0.10/32");
  TailnetState t = state(rec);
  PreferredRoutes with(t, true), without(t, false);
  EXPECT_FALSE(with.address(ip("100.101.1.2")));
  EXPECT_FALSE(with.address(ip("192.168.1.7")));
  EXPECT_TRUE(with.address(ip("10.77.0.10")));
  EXPECT_FALSE(without.address(ip("10.77.0.10")));
  // A record without allowed_ips (an older ts-status) gives the node's addresses.
  rec["peers"][1].erase("allowed_ips");
  PreferredRoutes old(state(rec), true);
  EXPECT_TRUE(old.address(ip("100.101.1.3")));
  EXPECT_FALSE(old.address(ip("10.77.0.10")));
}

TEST(PreferredRoutes, DomainsAreHostsExactlyAndDnsRoutesWithTheirSubdomains) {
  Json rec = running_record();
  rec["magic_dns"]["extra_records"] = Json::array({Json{{"name", "svc.corp.example"}, {"value", "100.64.0.10"}}});
  PreferredRoutes p(state(rec), false);
  EXPECT_TRUE(p.domain("nas.tail1234.ts.net"));
  EXPECT_TRUE(p.domain("myhost.tail1234.ts.net"));
  EXPECT_TRUE(p.domain("svc.corp.example"));
  EXPECT_FALSE(p.domain("www.svc.corp.example"));  // a host is exact
  // The MagicDNS suffix is a DNS route: itself and every name under it, by labels.
  EXPECT_TRUE(p.domain("tail1234.ts.net"));
  EXPECT_TRUE(p.domain("gone.tail1234.ts.net"));
  EXPECT_TRUE(p.domain("a.b.tail1234.ts.net."));
  EXPECT_FALSE(p.domain("xtail1234.ts.net"));
  EXPECT_FALSE(p.domain("ts.net"));
  // And the reverse zones of the tailnet ranges.
  EXPECT_TRUE(p.domain("2.1.101.100.in-addr.arpa"));
  EXPECT_TRUE(p.domain("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa"));
  EXPECT_FALSE(p.domain("1.1.168.192.in-addr.arpa"));
  EXPECT_EQ(p.routes().size(), 66u);
  // Without search domains in the record a single label never matches.
  EXPECT_FALSE(p.domain("nas"));
  EXPECT_FALSE(p.domain(""));
}

// Control's search domains (exact, and every single-label name) and split-DNS routes (with their
// subdomains), as ts-status puts them into magic_dns from /localapi/v0/dns-config.
TEST(PreferredRoutes, SearchDomainsAndSplitDnsRoutes) {
  Json rec = running_record();
  rec["magic_dns"]["search_domains"] = Json::array({"tail1234.ts.net", "Corp.Example."});
  rec["magic_dns"]["dns_routes"] = Json::array({"internal.example"});
  PreferredRoutes p(state(rec), false);
  EXPECT_TRUE(p.domain("corp.example"));
  EXPECT_FALSE(p.domain("www.corp.example"));  // a search domain is exact
  EXPECT_TRUE(p.domain("nas"));                // any single label, once there are search domains
  EXPECT_TRUE(p.domain("printer"));
  EXPECT_TRUE(p.domain("internal.example"));
  EXPECT_TRUE(p.domain("git.internal.example"));
  EXPECT_FALSE(p.domain("xinternal.example"));
  EXPECT_EQ(p.routes().size(), 67u);
  rec["self"]["key_expired"] = true;  // no DNS config at all
  PreferredRoutes expired(state(rec), false);
  EXPECT_FALSE(expired.domain("printer"));
  EXPECT_FALSE(expired.domain("git.internal.example"));
}

TEST(PreferredRoutes, MagicDnsOffKeepsTheHostsButNoRoutes) {
  Json rec = running_record();
  rec["magic_dns"]["enabled"] = false;
  PreferredRoutes p(state(rec), false);
  EXPECT_TRUE(p.domain("nas.tail1234.ts.net"));  // Hosts are filled unconditionally
  EXPECT_FALSE(p.domain("gone.tail1234.ts.net"));
  EXPECT_TRUE(p.routes().empty());
}

TEST(PreferredRoutes, EmptyWhenNotRunningAndNoNamesWhenSelfExpired) {
  Json rec = running_record();
  rec["state"] = "stopped";
  PreferredRoutes stopped(state(rec), true);
  EXPECT_FALSE(stopped.domain("nas.tail1234.ts.net"));
  EXPECT_FALSE(stopped.address(ip("100.101.1.2")));
  rec = running_record();
  rec["self"]["key_expired"] = true;
  PreferredRoutes expired(state(rec), true);
  EXPECT_TRUE(expired.domains().empty());
  EXPECT_FALSE(expired.domain("tail1234.ts.net"));
  EXPECT_TRUE(expired.address(ip("100.101.1.2")));
}

std::shared_ptr<RouteConfig> config(const std::string& rules, const std::string& extra_outbound = "") {
  Json j = Json::parse(R"({"endpoints": [{"type": "tailscale", "tag": "ts-ep", "accept_routes": true}],
    "outbounds": [{"type": "direct", "tag": "direct"})" + extra_outbound + R"(],
    "route": {"rules": )" + rules + R"(, "final": "direct"}})");
  return compile_config(j);
}

std::string first_error(const RouteConfig& c) {
  for (const auto& d : c.diagnostics)
    if (d.severity == Severity::kError) return d.line() + " (" + d.kind + ")";
  return "";
}

TEST(PreferredBy, DecidesThroughTheEndpointsRoutes) {
  auto c = config(R"([{"preferred_by": "ts-ep", "outbound": "ts-ep"}])");
  ASSERT_TRUE(c->ok()) << first_error(*c);
  Json rec = running_record();
  rec["peers"][0]["allowed_ips"].push_back("10.77.0.0/24");
  Router r(c, state(rec));
  auto decide = [&](const char* host) {
    Request q;
    q.destination_host = host;
    q.destination_port = 80;
    return r.decide(q, Router::Options{.describe = true});
  };
  auto d = decide("10.77.0.10");
  EXPECT_EQ(d.outbound, "ts-ep");
  EXPECT_EQ(d.rule, "preferred_by=ts-ep");
  ASSERT_EQ(d.matched_items.size(), 1u);
  EXPECT_EQ(d.matched_items[0].key, "preferred_by");
  EXPECT_EQ(decide("nas.tail1234.ts.net").outbound, "ts-ep");
  EXPECT_EQ(decide("10.78.0.1").outbound, "direct");
  EXPECT_EQ(decide("www.example.com").outbound, "direct");
  // Without the route, or without the tailnet, the same connection falls through.
  Request q;
  q.destination_host = "10.77.0.10";
  EXPECT_EQ(r.with_tailnet(state(running_record())).decide(q).outbound, "direct");
  q.destination_host = "nas.tail1234.ts.net";
  EXPECT_EQ(r.with_tailnet(TailnetState{}).decide(q).outbound, "direct");
}

TEST(PreferredBy, DescribesEveryTagAsSingBox) {
  EXPECT_EQ(PreferredByItem({"ts-ep"}).describe(), "preferred_by=ts-ep");
  EXPECT_EQ(PreferredByItem({"a", "b", "c", "d"}).describe(), "preferred_by=[a b c d]");  // no "..."
}

TEST(PreferredBy, UnknownTagIsAStartError) {
  auto c = config(R"([{"preferred_by": ["ts-ep", "ts-2"], "outbound": "direct"}])");
  EXPECT_EQ(first_error(*c), "route.rules[0].preferred_by: outbound not found: ts-2 (start)");
}

TEST(PreferredBy, TagsMustBeTailscaleEndpoints) {
  EXPECT_EQ(first_error(*config(R"([{"preferred_by": "direct", "outbound": "direct"}])")),
            "route.rules[0].preferred_by: outbound type does not support preferred routes: direct (start)");
  auto wg = compile_config(Json::parse(R"({"endpoints": [{"type": "wireguard", "tag": "wg"}],
    "route": {"rules": [{"preferred_by": "wg", "outbound": "wg"}]}})"));
  bool said = false;
  for (const auto& d : wg->diagnostics)
    said = said || (d.path == "route.rules[0].preferred_by" && d.kind == "unsupported" &&
                    d.message.find("\"wireguard\"") != std::string::npos &&
                    d.message.find("not supported by tailbox") != std::string::npos);
  EXPECT_TRUE(said);
  // Inside a logical rule too.
  EXPECT_EQ(first_error(*config(R"([{"type": "logical", "mode": "or", "rules": [{"preferred_by": "nope"}], "outbound": "direct"}])")),
            "route.rules[0].rules[0].preferred_by: outbound not found: nope (start)");
}

// A preferred_by rule sends the tailnet somewhere, so a later ip_is_private is no trap.
TEST(PreferredBy, CountsAsARuleForTheTailnet) {
  auto c = config(R"([{"preferred_by": "ts-ep", "outbound": "ts-ep"}, {"ip_is_private": true, "outbound": "direct"}])");
  ASSERT_TRUE(c->ok()) << first_error(*c);
  for (const auto& d : c->diagnostics) EXPECT_NE(d.kind, "trap") << d.line();
}

TEST(PreferredBy, NotADnsRuleKey) {
  auto c = compile_config(Json::parse(R"({"endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
    "dns": {"servers": [{"type": "local", "tag": "local"}], "rules": [{"preferred_by": "ts-ep", "server": "local"}]}})"));
  std::string e = first_error(*c);
  EXPECT_NE(e.find("unknown field \"preferred_by\""), std::string::npos) << e;
}

}  // namespace
}  // namespace tb::route
