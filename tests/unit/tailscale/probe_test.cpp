#include "libcommon/tailscale/probe.hpp"

#include <gtest/gtest.h>

#include "libcommon/tailscale/localapi_client.hpp"
#include "tests/unit/tailscale/fake_transport.hpp"

namespace tb::ts {
namespace {

// PingResult bodies as tailscaled 1.102 sends them (every non-omitempty key, zero values too).
constexpr const char* kDerp =
    R"({"IP":"100.64.0.1","NodeIP":"100.64.0.1","NodeName":"peer","Err":"","LatencySeconds":0.0013,"Endpoint":"","PeerRelay":"","DERPRegionID":900,"DERPRegionCode":"lab"})";
constexpr const char* kDirect =
    R"({"IP":"100.64.0.1","NodeIP":"100.64.0.1","NodeName":"peer","Err":"","LatencySeconds":0.0006,"Endpoint":"10.99.0.3:41641","PeerRelay":"","DERPRegionID":0,"DERPRegionCode":""})";

TEST(Probe, PingPathsInTheCliOrder) {
  auto d = parse_ping_result(kDerp);
  ASSERT_TRUE(d);
  EXPECT_EQ(ping_path(*d), "relay");
  auto j = ping_json(*d);
  EXPECT_EQ(j["derp_region"], "lab");
  EXPECT_TRUE(j["endpoint"].is_null());
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_DOUBLE_EQ(j["latency_seconds"].get<double>(), 0.0013);

  auto e = parse_ping_result(kDirect);
  ASSERT_TRUE(e);
  EXPECT_EQ(ping_path(*e), "direct");
  EXPECT_EQ(ping_json(*e)["endpoint"], "10.99.0.3:41641");

  PingResult relay = *e;
  relay.peer_relay = "10.99.0.4:7777:vni:3";  // a peer relay wins over the endpoint, as in ping.go
  EXPECT_EQ(ping_path(relay), "peer_relay");
  EXPECT_TRUE(ping_json(relay)["endpoint"].is_null());

  auto err = parse_ping_result(R"({"IP":"100.64.0.9","Err":"no matching peer","LatencySeconds":0})");
  ASSERT_TRUE(err);
  EXPECT_EQ(ping_path(*err), "");
  EXPECT_TRUE(ping_json(*err)["latency_seconds"].is_null());
  EXPECT_EQ(ping_json(*err)["error"], "no matching peer");

  EXPECT_EQ(parse_ping_result("[1]").error().code, core::ExitCode::kProtocol);
  EXPECT_EQ(parse_ping_result("{").error().code, core::ExitCode::kProtocol);
}

TEST(Probe, SuggestionAndLocations) {
  auto s = parse_suggestion(R"({"ID":"nX","Name":"exit.tail1ab.ts.net.","Location":{"Country":"Canada","CountryCode":"CA","City":"Squamish","CityCode":"YSE","Priority":5}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, "nX");
  EXPECT_EQ(s->location["city"], "Squamish");
  EXPECT_EQ(s->location["priority"], 5);
  auto none = parse_suggestion(R"({"ID":"","Name":""})");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->id.empty());
  EXPECT_TRUE(none->location.is_null());

  auto doc = core::Json::parse(R"({"Peer":{"nodekey:a":{"ID":"n1","Location":{"Country":"Poland"}},"nodekey:b":{"ID":"n2"},"nodekey:c":null}})");
  auto locs = peer_locations(doc);
  ASSERT_EQ(locs.size(), 1u);
  EXPECT_EQ(locs["n1"]["country"], "Poland");
  EXPECT_EQ(locs["n1"]["city"], "");
  EXPECT_TRUE(peer_locations(core::Json::parse(R"({"Peer":null})")).empty());
}

TEST(Probe, AutoExitNodeSince186) {
  EXPECT_TRUE(has_auto_exit_node("1.86.0"));
  EXPECT_TRUE(has_auto_exit_node("1.102.5-t1234567ab-g89abcdef0"));
  EXPECT_TRUE(has_auto_exit_node("2.0.0"));
  EXPECT_FALSE(has_auto_exit_node("1.84.2"));
  EXPECT_FALSE(has_auto_exit_node("1.8.0"));
  EXPECT_FALSE(has_auto_exit_node(""));
  EXPECT_FALSE(has_auto_exit_node("unknown"));
}

TEST(Probe, ClientSendsWhatTheCliSends) {
  std::vector<FakeTransport::Call> calls;
  auto t = std::make_unique<FakeTransport>(&calls);
  FakeTransport* fake = t.get();
  ClientOptions o;
  o.connect_retry = std::chrono::milliseconds(0);
  LocalApiClient client(std::move(t), o);
  HttpResponse ok;
  ok.status = 200;
  ok.body = kDirect;
  fake->replies.push_back(ok);
  auto r = client.ping("100.64.0.1", "disco", std::chrono::seconds(1));
  ASSERT_TRUE(r);
  EXPECT_EQ(calls.at(0).method, "POST");
  EXPECT_EQ(calls.at(0).path, "/localapi/v0/ping?ip=100.64.0.1&size=0&type=disco");
  HttpResponse bad;
  bad.status = 500;
  bad.body = "{\"error\":\"no preferred DERP, try again later\"}\n";
  fake->replies.push_back(bad);
  auto s = client.suggest_exit_node();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ExitCode::kProtocol);
  EXPECT_NE(s.error().message.find("no preferred DERP"), std::string::npos);
  EXPECT_EQ(calls.at(1).method, "GET");
  EXPECT_EQ(calls.at(1).path, "/localapi/v0/suggest-exit-node");
}

}  // namespace
}  // namespace tb::ts
