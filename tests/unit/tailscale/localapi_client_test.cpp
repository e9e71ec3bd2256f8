#include "libcommon/tailscale/localapi_client.hpp"

#include <gtest/gtest.h>

#include "tests/unit/tailscale/fake_transport.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::ts {
namespace {

HttpResponse reply(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

struct ClientTest : ::testing::Test {
  std::vector<FakeTransport::Call> calls;
  FakeTransport* fake = nullptr;
  std::unique_ptr<LocalApiClient> client;
  void SetUp() override {
    auto t = std::make_unique<FakeTransport>(&calls);
    fake = t.get();
    ClientOptions o;
    o.connect_retry = std::chrono::milliseconds(0);
    client = std::make_unique<LocalApiClient>(std::move(t), o);
  }
};

TEST_F(ClientTest, StatusPathsAndParse) {
  fake->replies.push_back(reply(200, test::read_fixture("localapi/status-needslogin-authurl-linux-v1.50-old-health-strings.json")));
  auto s = client->status(false);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backend_state, BackendState::kNeedsLogin);
  EXPECT_EQ(calls.at(0).path, "/localapi/v0/status?peers=false");
}

TEST_F(ClientTest, ForbiddenIsAccessDeniedWithOperatorHint) {
  fake->replies.push_back(reply(403, "status access denied\n"));
  auto s = client->status();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ExitCode::kNoPerm);
  EXPECT_EQ(s.error().message, "access denied by tailscaled: status access denied");
  EXPECT_NE(s.error().hint.find("--operator=$USER"), std::string::npos);
}

TEST_F(ClientTest, JsonErrorBodiesMatchedCaseInsensitively) {
  EXPECT_EQ(daemon_error_message("{\"error\":\"ping failed\"}\n"), "ping failed");
  EXPECT_EQ(daemon_error_message("{\"Error\":\"bad edit\"}\n"), "bad edit");
  EXPECT_EQ(daemon_error_message("{\"ERROR\":\"shout\"}"), "shout");
  EXPECT_EQ(daemon_error_message("cannot start backend when state store is unhealthy\n"),
            "cannot start backend when state store is unhealthy");
  fake->replies.push_back(reply(400, "{\"Error\":\"cannot set InternalExitNodePrior\"}\n"));
  auto p = client->patch_prefs(core::Json::object());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, core::ExitCode::kProtocol);
  EXPECT_NE(p.error().message.find("HTTP 400: cannot set InternalExitNodePrior"), std::string::npos);
  EXPECT_EQ(calls.at(0).method, "PATCH");
}

TEST_F(ClientTest, CheckPrefsErrorInA200) {
  fake->replies.push_back(reply(200, "{}"));
  EXPECT_TRUE(client->check_prefs(core::Json::object()));
  fake->replies.push_back(reply(200, "{\"Error\":\"invalid hostname\"}"));
  auto r = client->check_prefs(core::Json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ExitCode::kDataErr);
}

TEST_F(ClientTest, GarbageIsProtocolError) {
  fake->replies.push_back(reply(200, "<html>not json</html>"));
  auto s = client->status();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ExitCode::kProtocol);
}

TEST_F(ClientTest, TransportErrorsPassThrough) {
  fake->replies.push_back(core::fail(core::ExitCode::kUnavailable, "cannot connect", "is tailscaled running?"));
  auto s = client->status();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ExitCode::kUnavailable);
  fake->replies.push_back(core::fail(core::ExitCode::kTimeout, "slow"));
  EXPECT_EQ(client->prefs().error().code, core::ExitCode::kTimeout);
}

TEST_F(ClientTest, WhoisEscapesAddr) {
  fake->replies.push_back(reply(200, "{\"Node\":{}}"));
  ASSERT_TRUE(client->whois("[fd7a::1]:80"));
  EXPECT_EQ(calls.at(0).path, "/localapi/v0/whois?addr=%5Bfd7a::1%5D:80");
}

TEST_F(ClientTest, WatchDeliversNotifiesAndStopsOnBadLine) {
  fake->stream_lines = {R"({"Version":"x","State":6})", "", R"({"Version":"x","BrowseToURL":"https://u"})", "{\"Vers"};
  std::vector<Notify> got;
  auto r = client->watch_ipn_bus(16 | 2, [&](const Notify& n) {
    got.push_back(n);
    return true;
  });
  EXPECT_EQ(calls.at(0).path, "/localapi/v0/watch-ipn-bus?mask=18");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].state, BackendState::kRunning);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ExitCode::kProtocol);
}

TEST_F(ClientTest, WatchForbidden) {
  fake->stream_result = 403;
  auto r = client->watch_ipn_bus(16, [](const Notify&) { return true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ExitCode::kNoPerm);
  EXPECT_NE(r.error().message.find("watch ipn bus access denied"), std::string::npos);
}

}  // namespace
}  // namespace tb::ts
