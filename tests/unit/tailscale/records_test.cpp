#include "libcommon/tailscale/records.hpp"

#include <gtest/gtest.h>

#include "tests/unit/test_util.hpp"

namespace tb::ts {
namespace {

using core::Json;

Status load(const std::string& name) {
  auto s = parse_status(test::read_fixture("localapi/" + name));
  EXPECT_TRUE(s);
  return s ? *s : Status{};
}

const char* kLinux = "status-running-linux-v1.94-tagged-self-subnet-routers-offline-peers-health-warning.json";
const char* k1102 = "status-running-v1.102-nodeid-extrarecords-exitnode-SYNTHETIC.json";

TEST(Records, StatusRecordShape) {
  Json r = status_record(load(kLinux));
  // "v" and "type" come first, lists are never null.
  EXPECT_EQ(r.begin().key(), "v");
  EXPECT_EQ(std::next(r.begin()).key(), "type");
  EXPECT_EQ(r["type"], "status");
  EXPECT_EQ(r["state"], "running");
  EXPECT_TRUE(r["connected"].get<bool>());
  EXPECT_EQ(r["self"]["name"], "unifi");
  EXPECT_EQ(r["self"]["dns_name"], "unifi.moose-ph.ts.net");
  EXPECT_EQ(r["self"]["ips"][0], "100.93.0.7");
  EXPECT_TRUE(r["self"]["key_expiry"].is_null());  // tagged: expiry disabled
  EXPECT_EQ(r["peers"].size(), 14u);
  EXPECT_EQ(r["magic_dns"]["suffix"], "moose-ph.ts.net");
  EXPECT_FALSE(r["magic_dns"]["enabled"].get<bool>());
  for (const auto& p : r["peers"]) {
    EXPECT_TRUE(p["ips"].is_array());
    EXPECT_TRUE(p["tags"].is_array());
    EXPECT_TRUE(p["primary_routes"].is_array());
    EXPECT_EQ(p["name"].get<std::string>().find(".moose-ph.ts.net"), std::string::npos);  // suffix trimmed
  }
  EXPECT_EQ(r["health"][0], "Some peers are advertising routes but --accept-routes is false");
}

TEST(Records, ExitNodeAndPaths) {
  Json r = status_record(load(k1102));
  ASSERT_TRUE(r["exit_node"].is_object());
  EXPECT_EQ(r["exit_node"]["name"], "peer");
  EXPECT_EQ(r["exit_node"]["ips"][0], "100.101.1.2");  // prefix length dropped
  EXPECT_FALSE(r["tun"].get<bool>());
  EXPECT_EQ(r["peers"][0]["path"], "peer_relay");
  EXPECT_EQ(r["peers"][0]["user"], "example@github");
  EXPECT_EQ(r["self"]["key_expiry"], "2027-05-01T12:00:00Z");
  EXPECT_EQ(r["peers"][0]["last_seen"], "2026-11-20T01:00:00Z");
}

TEST(Records, ExtraRecordsInMagicDns) {
  // Control's DNS records reach the record as sent (typed or not); a daemon without them gives [].
  Json r = status_record(load(k1102));
  ASSERT_EQ(r["magic_dns"]["extra_records"].size(), 1u);
  EXPECT_EQ(r["magic_dns"]["extra_records"][0]["name"], "svc.tail1234.ts.net.");
  EXPECT_EQ(r["magic_dns"]["extra_records"][0]["type"], "");
  EXPECT_EQ(r["magic_dns"]["extra_records"][0]["value"], "100.101.1.9");
  EXPECT_EQ(status_record(load(kLinux))["magic_dns"]["extra_records"], Json::array());
}

// GET dns-config's search domains and split-DNS route suffixes reach magic_dns; without a DNS
// config (not asked, an older daemon) both are [].
TEST(Records, DnsConfigInMagicDns) {
  auto c = parse_dns_config(R"({"Resolvers": [{"Addr": "1.1.1.1"}], "Routes": {"corp.example": [{"Addr": "10.0.0.53"}],
    "a.example": null}, "Domains": ["tail1234.ts.net", "corp.example"], "Proxied": true, "CertDomains": ["x"]})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->domains, (std::vector<std::string>{"tail1234.ts.net", "corp.example"}));
  EXPECT_EQ(c->routes, (std::vector<std::string>{"a.example", "corp.example"}));
  Status s = load(k1102);
  EXPECT_EQ(status_record(s)["magic_dns"]["search_domains"], Json::array());
  EXPECT_EQ(status_record(s)["magic_dns"]["dns_routes"], Json::array());
  EXPECT_EQ(status_record(s)["magic_dns"]["dns_route_resolvers"], Json::object());
  s.dns_config = *c;
  Json r = status_record(s);
  EXPECT_EQ(r["magic_dns"]["search_domains"], Json::array({"tail1234.ts.net", "corp.example"}));
  EXPECT_EQ(r["magic_dns"]["dns_routes"], Json::array({"a.example", "corp.example"}));
  EXPECT_EQ(r["magic_dns"]["dns_route_resolvers"], Json({{"corp.example", Json::array({"10.0.0.53"})}}));
  EXPECT_EQ(r["magic_dns"]["default_resolvers"], Json::array({"1.1.1.1"}));
  auto empty = parse_dns_config("{}\n");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->domains.empty() && empty->routes.empty());
  EXPECT_FALSE(parse_dns_config("[]"));
  EXPECT_FALSE(parse_dns_config("no netmap"));
}

TEST(Records, PeersFalseAndActiveFilter) {
  Status s = load(kLinux);
  RecordOptions none;
  none.include_peers = false;
  EXPECT_TRUE(status_record(s, none)["peers"].empty());
  RecordOptions active;
  active.active_only = true;
  Json active_rec = status_record(s, active);  // keep the record alive while iterating
  for (const auto& p : active_rec["peers"]) EXPECT_TRUE(p["active"].get<bool>());
}

TEST(Records, UnreachableRecordStillHasEveryKey) {
  Json ok = status_record(load(kLinux));
  Json down = unreachable_status_record(core::Error{core::ExitCode::kUnavailable, "cannot connect", "is tailscaled running?"});
  EXPECT_EQ(down["state"], "daemon_unreachable");
  EXPECT_FALSE(down["connected"].get<bool>());
  for (auto it = ok.begin(); it != ok.end(); ++it) EXPECT_TRUE(down.contains(it.key())) << it.key();
  Json denied = unreachable_status_record(core::Error{core::ExitCode::kNoPerm, "denied", ""});
  EXPECT_EQ(denied["state"], "access_denied");
  Json err = error_record(core::Error{core::ExitCode::kTimeout, "slow", ""});
  EXPECT_EQ(err["code"], "timeout");
  EXPECT_EQ(err["exit_code"], 75);
}

TEST(Records, DedupeIgnoresCountersOnly) {
  Status s = load(k1102);
  Json a = status_record(s);
  s.peers[0].rx_bytes += 100;
  s.peers[0].last_handshake = 1;
  Json b = status_record(s);
  EXPECT_NE(a, b);
  EXPECT_EQ(dedupe_key(a), dedupe_key(b));
  s.peers[0].online = false;
  EXPECT_NE(dedupe_key(a), dedupe_key(status_record(s)));
}

TEST(Records, DiffEvents) {
  Status s = load(k1102);
  Json a = status_record(s);
  Status t = s;
  t.peers[0].online = false;
  t.peers[0].peer_relay.clear();
  t.peers[0].cur_addr = "198.51.100.7:41641";
  t.health = {"not in map poll"};
  t.auth_url = "https://login.tailscale.com/a/x";
  PeerStatus extra = t.peers[0];
  extra.id = "nNew";
  t.peers.push_back(extra);
  Json b = status_record(t);
  auto events = diff_events(a, b, 1000);
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e["event"]);
  EXPECT_EQ(names, (std::vector<std::string>{"peer_offline", "path", "peer_added", "health", "auth_url"}));
  EXPECT_EQ(events[1]["from"], "peer_relay");
  EXPECT_EQ(events[1]["to"], "direct");
  EXPECT_EQ(events[3]["added"][0], "not in map poll");
  EXPECT_EQ(events[0]["time"], "1970-01-01T00:16:40Z");

  auto back = diff_events(b, a, 1000);
  bool removed = false;
  for (const auto& e : back) removed = removed || e["event"] == "peer_removed";
  EXPECT_TRUE(removed);

  auto first = diff_events(nullptr, a, 0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["event"], "state");
  EXPECT_TRUE(first[0]["from"].is_null());
}

TEST(Records, DiffEventsForPeersWithoutIds) {
  // 2020 daemons send no peer ID: peers are told apart by key, not all taken for the first one.
  Status s = load("status-running-v1.2-2020-no-self-tailaddr-SYNTHETIC.json");
  ASSERT_EQ(s.peers.size(), 1u);
  ASSERT_TRUE(s.peers[0].id.empty());
  PeerStatus second = s.peers[0];
  second.public_key = "AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKK=";
  second.host_name = "second";
  second.dns_name = "second.alice.gmail.com.beta.tailscale.net.";
  second.online = false;
  s.peers[0].online = true;
  s.peers.push_back(second);
  Json a = status_record(s);
  Status t = s;
  t.peers[1].online = true;
  auto events = diff_events(a, status_record(t), 1000);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "peer_online");
  EXPECT_EQ(events[0]["peer"], "second.alice.gmail.com.beta.tailscale.net");

  Status u = s;
  u.peers.erase(u.peers.begin());
  auto gone = diff_events(a, status_record(u), 1000);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]["event"], "peer_removed");
  EXPECT_EQ(gone[0]["peer"], "oldbox.alice.gmail.com.beta.tailscale.net");
}

TEST(Records, DiffEventsWithARepeatedPeer) {
  // A malformed status listing one peer twice (same ID, different online state, as the status
  // fuzzer built one): a record never differs from itself, and the k-th copy pairs with the k-th.
  Status s = load(k1102);
  ASSERT_FALSE(s.peers.empty());
  PeerStatus copy = s.peers[0];
  copy.online = !s.peers[0].online;
  s.peers.push_back(copy);
  Json a = status_record(s);
  EXPECT_TRUE(diff_events(a, a, 1000).empty());
  // One copy gone: one removal, nothing else.
  Status t = s;
  t.peers.pop_back();
  auto gone = diff_events(a, status_record(t), 1000);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]["event"], "peer_removed");
  auto back = diff_events(status_record(t), a, 1000);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0]["event"], "peer_added");
}

TEST(Records, DisplayName) {
  PeerStatus p;
  p.dns_name = "peer.tail1234.ts.net.";
  EXPECT_EQ(display_name(p, "tail1234.ts.net"), "peer");
  p.dns_name = "us-lax-wg-001.mullvad.ts.net.";
  EXPECT_EQ(display_name(p, "tail1234.ts.net"), "us-lax-wg-001.mullvad.ts.net");
  p.dns_name = "";
  p.host_name = "localhost";
  EXPECT_EQ(display_name(p, "tail1234.ts.net"), "localhost");
}

}  // namespace
}  // namespace tb::ts
