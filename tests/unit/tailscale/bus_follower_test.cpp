#include "libcommon/tailscale/bus_follower.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "tests/unit/tailscale/fake_transport.hpp"

namespace tb::ts {
namespace {

using namespace std::chrono_literals;
using Kind = BusEvent::Kind;

std::unique_ptr<LocalApiClient> client_with(std::vector<FakeTransport::Call>* calls, std::vector<std::string> lines,
                                            core::Result<int> result = 200) {
  auto t = std::make_unique<FakeTransport>(calls);
  t->stream_lines = std::move(lines);
  t->stream_result = result;
  ClientOptions o;
  o.connect_retry = 0ms;
  return std::make_unique<LocalApiClient>(std::move(t), o);
}

TEST(BusFollower, QueuesNotifiesThenTheEndOfTheStream) {
  std::vector<FakeTransport::Call> calls;
  BusFollower bus(client_with(&calls, {R"({"Version":"x","State":6})", R"({"Version":"x","BrowseToURL":"https://u"})"}),
                  BusOptions{.mask = 18});
  auto deadline = BusFollower::Clock::now() + 5s;
  auto a = bus.next(deadline);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Kind::kNotify);
  EXPECT_TRUE(a->first);
  EXPECT_EQ(a->notify.state, BackendState::kRunning);
  auto b = bus.next(deadline);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->first);
  EXPECT_EQ(b->notify.browse_to_url, "https://u");
  auto end = bus.next(deadline);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->kind, Kind::kClosed);
  EXPECT_FALSE(bus.next(BusFollower::Clock::now() + 50ms));  // no reconnect: nothing more
}

TEST(BusFollower, DrainDropsQueuedNotifiesOnly) {
  std::vector<FakeTransport::Call> calls;
  BusFollower bus(client_with(&calls, {R"({"State":2})", R"({"State":6})"}, 403), BusOptions{});
  // Wait for the end of the stream, then drop what came before it.
  std::optional<BusEvent> ev;
  for (auto deadline = BusFollower::Clock::now() + 5s; BusFollower::Clock::now() < deadline;) {
    std::this_thread::sleep_for(10ms);
    bus.drain();
    ev = bus.next(BusFollower::Clock::now());
    if (ev) break;
  }
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->kind, Kind::kFailed);
  EXPECT_EQ(ev->error.code, core::ExitCode::kNoPerm);
}

TEST(BusFollower, ReconnectsAndHandsEventsToTheHandler) {
  std::vector<FakeTransport::Call> calls;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<BusEvent> got;
  {
    BusFollower bus(client_with(&calls, {R"({"State":6})"}), BusOptions{.reconnect = true}, [&](const BusEvent& e) {
      std::lock_guard lock(mu);
      got.push_back(e);
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return got.size() >= 4; }));  // two streams: 250 ms apart
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(got[0].kind, Kind::kNotify);
  EXPECT_TRUE(got[0].first);
  EXPECT_EQ(got[1].kind, Kind::kClosed);
  EXPECT_EQ(got[2].kind, Kind::kNotify);
  EXPECT_TRUE(got[2].first);
  EXPECT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0].path, "/localapi/v0/watch-ipn-bus?mask=18");
}

}  // namespace
}  // namespace tb::ts
