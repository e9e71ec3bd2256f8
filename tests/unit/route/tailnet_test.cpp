// The tailnet state (tailnet.hpp): a status record becomes the MagicDNS table and the tailnet
// rule-sets the router uses.

#include <gtest/gtest.h>

#include <string>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/router.hpp"
#include "libcommon/route/source.hpp"
#include "libcommon/route/tailnet.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

TEST(Tailnet, StatusRecordToRuleSets) {
  std::string line = tb::test::read_fixture("route/status-running.jsonl");
  auto t = tailnet_from_status(Json::parse(line));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->peers.size(), 2u);
  auto table = magic_dns_table(*t);
  EXPECT_EQ(table.count("nas"), 1u);
  EXPECT_EQ(table.count("nas.tail1234.ts.net"), 1u);
  EXPECT_EQ(table.count("myhost"), 1u);
  // Control's DNS records join the table as tailscaled's resolver takes them: A, AAAA or untyped
  // with an IP value; a node's name is never overridden by one.
  Json rec = Json::parse(line);
  rec["magic_dns"]["extra_records"] = Json::array({
      Json{{"name", "DB.tail1234.ts.net."}, {"type", "A"}, {"value", "100.64.0.9"}},
      Json{{"name", "db.tail1234.ts.net"}, {"type", "AAAA"}, {"value", "fd7a:115c:a1e0::9"}},
      Json{{"name", "svc.corp.example"}, {"type", ""}, {"value", "100.64.0.10"}},
      Json{{"name", "txt.tail1234.ts.net"}, {"type", "TXT"}, {"value", "hello"}},
      Json{{"name", "bad.tail1234.ts.net"}, {"type", "A"}, {"value", "not-an-ip"}},
      Json{{"name", "nas"}, {"type", "A"}, {"value", "100.64.0.11"}}});
  auto tr = tailnet_from_status(rec);
  ASSERT_TRUE(tr);
  auto with_records = magic_dns_table(*tr);
  ASSERT_EQ(with_records.count("db.tail1234.ts.net"), 1u);
  EXPECT_EQ(with_records["db.tail1234.ts.net"].size(), 2u);
  EXPECT_EQ(with_records["db.tail1234.ts.net"][0].str(), "100.64.0.9");
  EXPECT_EQ(with_records.count("svc.corp.example"), 1u);
  EXPECT_EQ(with_records.count("txt.tail1234.ts.net"), 0u);
  EXPECT_EQ(with_records.count("bad.tail1234.ts.net"), 0u);
  EXPECT_EQ(with_records["nas"], table["nas"]);
  auto parsed = parse_config_text(tb::test::read_fixture("route/tailnet-config.json"), "tailnet-config.json");
  ASSERT_TRUE(parsed);
  auto cfg = compile_config(*parsed);
  ASSERT_TRUE(cfg->ok());
  Router router(cfg, *t);
  auto decide = [&](const char* host, uint16_t port) {
    Request q;
    q.inbound = "mixed-in";
    q.destination_host = host;
    q.destination_port = port;
    return router.decide(q);
  };
  EXPECT_EQ(decide("nas", 445).outbound, "ts-ep");
  EXPECT_EQ(decide("NAS.tail1234.ts.net", 445).outbound, "ts-ep");
  EXPECT_EQ(decide("unknown.tail1234.ts.net", 80).outbound, "ts-ep");  // the MagicDNS suffix
  EXPECT_EQ(decide("NAS.tail1234.ts.net.", 445).outbound, "ts-ep");      // fully qualified
  EXPECT_EQ(decide("unknown.tail1234.ts.net.", 80).outbound, "ts-ep");
  EXPECT_EQ(decide("fd7a:115c:a1e0::2", 22).outbound, "ts-ep");
  EXPECT_EQ(decide("192.168.1.20", 80).outbound, "ts-ep");  // accepted subnet route
  EXPECT_EQ(decide("192.168.2.20", 80).outbound, "direct");
  EXPECT_EQ(decide("8.8.8.8", 53).outbound, "proxy");  // the exit node's default route is not a subnet route
  // Unreachable daemon: the tailnet sets are empty, the rest still works.
  auto down = tailnet_from_status(Json::parse(tb::test::read_fixture("route/status-unreachable.jsonl")));
  ASSERT_TRUE(down);
  Router r2 = router.with_tailnet(*down);
  Request q;
  q.destination_host = "nas";
  q.destination_port = 445;
  EXPECT_EQ(r2.decide(q).outbound, "proxy");
  q.destination_host = "10.0.0.1";
  EXPECT_EQ(r2.decide(q).outbound, "direct");
  EXPECT_FALSE(tailnet_from_status(Json::parse(R"({"v":1,"type":"event"})")));
}

// The status record's "tun": one default, in the tailnet state, for sb-route plan and sb-relay.
TEST(TailnetTun, OneDefaultTrueAsTheDaemonMeansIt) {
  Json rec = {{"v", 1}, {"type", "status"}, {"state", "running"}};
  EXPECT_TRUE(tailnet_from_status(rec)->tun);
  rec["tun"] = false;
  EXPECT_FALSE(tailnet_from_status(rec)->tun);
  EXPECT_TRUE(TailnetState{}.tun);
}

// A node's allowed_ips and key_expired (what preferred_by reads): parsed as prefixes; a record
// without allowed_ips (older ts-status) gives the node's own addresses.
TEST(TailnetNodes, AllowedIpsAndKeyExpiry) {
  Json rec = Json::parse(tb::test::read_fixture("route/status-running.jsonl"));
  rec["peers"][0]["key_expired"] = true;
  rec["peers"][1].erase("allowed_ips");
  auto t = tailnet_from_status(rec);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->peers[0].allowed_ips.size(), 3u);
  EXPECT_EQ(t->peers[0].allowed_ips[2].str(), "192.168.1.0/24");
  EXPECT_TRUE(t->peers[0].key_expired);
  ASSERT_EQ(t->peers[1].allowed_ips.size(), 1u);
  EXPECT_EQ(t->peers[1].allowed_ips[0].str(), "100.101.1.3/32");
  EXPECT_FALSE(t->peers[1].key_expired);
  ASSERT_TRUE(t->self);
  EXPECT_EQ(t->self->allowed_ips.size(), 2u);
}

}  // namespace
}  // namespace tb::route
