#include "libcommon/tailscale/status.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "libcommon/tailscale/notify.hpp"
#include "libcommon/tailscale/prefs.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::ts {
namespace {

using test::read_fixture;

TEST(Status, EveryStatusFixtureParses) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::fixture_path("localapi"))) {
    std::string name = e.path().filename().string();
    if (name.rfind("status-", 0) != 0 || e.path().extension() != ".json") continue;
    auto s = parse_status(read_fixture("localapi/" + name));
    ASSERT_TRUE(s) << name << ": " << s.error().line();
    EXPECT_FALSE(s->version.empty()) << name;
    ++n;
  }
  EXPECT_GE(n, 5);
}

TEST(Status, RunningLinuxTaggedSelf) {
  auto s = parse_status(read_fixture("localapi/status-running-linux-v1.94-tagged-self-subnet-routers-offline-peers-health-warning.json"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backend_state, BackendState::kRunning);
  ASSERT_TRUE(s->self);
  EXPECT_EQ(s->self->host_name, "unifi");
  EXPECT_EQ(s->self->dns_name, "unifi.moose-ph.ts.net.");
  EXPECT_EQ(s->self->tags, std::vector<std::string>{"tag:server"});
  EXPECT_EQ(s->self->user_id, 8206006009370787);
  EXPECT_EQ(s->magic_dns_suffix, "moose-ph.ts.net");
  ASSERT_TRUE(s->current_tailnet);
  EXPECT_FALSE(s->current_tailnet->magic_dns_enabled);
  EXPECT_EQ(s->peers.size(), 14u);
  EXPECT_EQ(s->health.size(), 1u);
  EXPECT_TRUE(s->have_node_key);
  // The tagged self maps to a per-node pseudo-user.
  ASSERT_NE(s->user(s->self->user_id), nullptr);
  EXPECT_EQ(s->user(s->self->user_id)->login_name, "unifi.moose-ph.ts.net");
  bool saw_routes = false;
  for (const auto& p : s->peers) saw_routes = saw_routes || !p.primary_routes.empty();
  EXPECT_TRUE(saw_routes);
}

TEST(Status, MacOsLocalOffsetsAndZeroTimes) {
  auto s = parse_status(read_fixture("localapi/status-running-macos-v1.94-offline-ios-peers-sshhostkeys.json"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->peers.size(), 5u);
  int offline = 0, with_handshake = 0;
  for (const auto& p : s->peers) {
    offline += p.online ? 0 : 1;
    with_handshake += p.last_handshake ? 1 : 0;
  }
  EXPECT_EQ(offline, 2);
  EXPECT_GE(with_handshake, 1);
  EXPECT_FALSE(s->self->last_handshake);  // Go's zero time is "never"
}

TEST(Status, NeedsLoginWithNullsAndNoPeers) {
  auto s = parse_status(read_fixture("localapi/status-needslogin-authurl-linux-v1.50-old-health-strings.json"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backend_state, BackendState::kNeedsLogin);
  EXPECT_EQ(s->auth_url, "https://login.tailscale.com/a/1223456abc");
  EXPECT_TRUE(s->tailscale_ips.empty());
  EXPECT_TRUE(s->peers.empty());
  EXPECT_TRUE(s->users.empty());
  EXPECT_FALSE(s->current_tailnet);
  EXPECT_FALSE(s->have_node_key);  // all-zero nodekey
}

TEST(Status, Year2020WithoutSelf) {
  auto s = parse_status(read_fixture("localapi/status-running-v1.2-2020-no-self-tailaddr-SYNTHETIC.json"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->self);
  EXPECT_EQ(s->backend_state, BackendState::kUnknown);
  ASSERT_EQ(s->peers.size(), 1u);
  EXPECT_EQ(s->peers[0].tailscale_ips, std::vector<std::string>{"100.88.1.2"});  // from TailAddr
  EXPECT_EQ(s->peers[0].public_key, "fSwmz+ZJxVbNfT0L0pH9mDg9Xe1w7gqwZ3yWNvE4eCU=");
  EXPECT_TRUE(s->health.empty());
  EXPECT_TRUE(s->tun);  // absent TUN: kernel mode, as those daemons were
}

TEST(Status, Version1102BigIdsAndExitNode) {
  auto s = parse_status(read_fixture("localapi/status-running-v1.102-nodeid-extrarecords-exitnode-SYNTHETIC.json"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->tun);
  EXPECT_EQ(s->self->node_id, 9007199254740993);  // 2^53 + 1: a double would round it
  EXPECT_EQ(s->self->user_id, 9007199254740995);
  ASSERT_TRUE(s->exit_node_status);
  EXPECT_EQ(s->exit_node_status->id, "nPeerBBBB22CNTRL");
  ASSERT_EQ(s->peers.size(), 1u);
  EXPECT_EQ(s->peers[0].peer_relay, "10.0.0.9:7777:vni:12");
  EXPECT_EQ(s->peers[0].last_write, s->peers[0].last_handshake.value() + 0);  // +09:00 offsets
  EXPECT_EQ(s->self->key_expiry, 1809172800);
  EXPECT_EQ(s->user(9007199254740995)->display_name, "Example <example>");
}

TEST(Status, MullvadPeerStatusObject) {
  auto j = core::parse_json(read_fixture("localapi/peerstatus-only-mullvad-exit-node-option-location-tags-v1.5x.json"),
                            core::ExitCode::kProtocol, "peer");
  ASSERT_TRUE(j);
  auto p = peer_status_from_json(*j, "Peer");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user_id, 38520981566058213);
  EXPECT_EQ(p->os, "");
  EXPECT_TRUE(p->exit_node_option);
}

TEST(Status, MalformedInputIsAClearErrorNeverACrash) {
  const char* cases[] = {"", "null", "[]", "42", "{", "{\"Peer\": {\"nodekey:ab\": 5}}", "\xff\xfe", "{\"Self\": []}",
                         "{\"Peer\": [1,2]}", "{\"BackendState\": 7, \"Health\": {\"a\": 1}, \"User\": {\"x\": {}}}",
                         "{\"RxBytes\": 1e999}", "{\"Self\": {\"UserID\": -1e400}}"};
  for (const char* c : cases) {
    auto s = parse_status(c);
    if (!s) {
      EXPECT_EQ(s.error().code, core::ExitCode::kProtocol) << c;
      EXPECT_FALSE(s.error().message.empty()) << c;
    }
  }
  auto bad_peer = parse_status("{\"Peer\": {\"nodekey:ab\": 5}}");
  ASSERT_FALSE(bad_peer);
  EXPECT_NE(bad_peer.error().message.find("Peer[\"nodekey:ab\"]"), std::string::npos);
  EXPECT_FALSE(parse_status("[]"));
  // A number too large for a double is bad input (76), not an exception out of the parser.
  auto overflow = parse_status("{\"Version\": \"1.94\", \"Peer\": {\"nodekey:ab\": {\"RxBytes\": 1e999}}}");
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, core::ExitCode::kProtocol);
  // The 2021 document a user truncated with "...." is invalid JSON: an error, not a crash.
  std::string text = read_fixture("localapi/cli-text-output-and-error-lines-from-issues.txt");
  auto start = text.find("{\n  \"Version\": \"date.20210316\"");
  ASSERT_NE(start, std::string::npos);
  auto truncated = parse_status(text.substr(start, text.find("....", start) + 4 - start));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, core::ExitCode::kProtocol);
}

TEST(Notify, EngineLineFromFixture) {
  auto n = parse_notify(read_fixture("localapi/notify-engine-update-v1.98.9-ELIDED-by-poster.txt"));
  ASSERT_TRUE(n) << n.error().line();
  EXPECT_TRUE(n->has_engine);
  EXPECT_FALSE(n->state);
  EXPECT_FALSE(n->browse_to_url);
}

TEST(Notify, StateIntegerAndUrl) {
  auto n = parse_notify(R"({"Version":"1.94.2","ErrMessage":null,"LoginFinished":null,"State":2,"Prefs":null,"NetMap":null,"Engine":null,"BrowseToURL":"https://login.tailscale.com/a/abc","DriveShares":null,"Unknown":{"x":1}})");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->state, BackendState::kNeedsLogin);
  EXPECT_EQ(n->browse_to_url, "https://login.tailscale.com/a/abc");
  EXPECT_FALSE(n->err_message);
  EXPECT_FALSE(n->has_netmap);
  auto bad = parse_notify(R"({"Version":"1.9)");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, core::ExitCode::kProtocol);
  EXPECT_FALSE(parse_notify("[1]"));
  auto overflow = parse_notify(R"({"Engine":{"RBytes":1e999}})");
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, core::ExitCode::kProtocol);
  auto unknown_state = parse_notify(R"({"State":42})");
  ASSERT_TRUE(unknown_state);
  EXPECT_EQ(unknown_state->state, BackendState::kUnknown);
}

TEST(Prefs, ParsesAndKeepsRaw) {
  auto p = parse_prefs(R"({"ControlURL":"https://controlplane.tailscale.com","RouteAll":true,"ExitNodeID":"",
    "CorpDNS":true,"WantRunning":true,"AdvertiseTags":null,"Hostname":"h","AdvertiseRoutes":["10.0.0.0/24"],
    "NetfilterMode":2,"AllowSingleHosts":true,"Config":{"PrivateNodeKey":"privkey:0000"},"NewIn2027":1})");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->route_all);
  EXPECT_TRUE(p->advertise_tags.empty());
  EXPECT_EQ(p->advertise_routes, std::vector<std::string>{"10.0.0.0/24"});
  EXPECT_EQ(p->netfilter_mode, 2);
  EXPECT_TRUE(p->raw.contains("NewIn2027"));
}

TEST(Prefs, SnippedWindowsStateIsAClearError) {
  // The poster's [SNIP] markers make this on-disk state invalid JSON.
  auto p = parse_prefs(read_fixture("localapi/prefs-windows-v1.96-server-state-profiles-decoded-SNIPPED-by-poster.txt"));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, core::ExitCode::kProtocol);
  EXPECT_NE(p.error().message.find("prefs"), std::string::npos);
}

}  // namespace
}  // namespace tb::ts
