#pragma once
// BusFollower: the IPN bus (watch-ipn-bus) on its own connection and thread, for whoever follows
// the daemon: ts-status watch and wait (through StatusFollower), ts-auth up.
//
// Each notification, and the end of each stream, is an event. Events go to a handler on the bus
// thread, or, without one, into a queue the caller takes them from with a deadline. With
// `reconnect`, a stream that ends is opened again after a backoff (250 ms doubling to 5 s, back to
// 250 ms once a stream delivers) until stop(); without, the thread ends with the stream.
// SIGINT/SIGTERM stop the follower: next() then returns nullopt.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "libcommon/core/error.hpp"
#include "libcommon/tailscale/localapi_client.hpp"
#include "libcommon/tailscale/notify.hpp"

namespace tb::ts {

struct BusEvent {
  enum class Kind {
    kNotify,  // a notification: `notify`
    kClosed,  // the daemon ended the stream cleanly
    kFailed,  // the stream broke: `error` (the daemon went away, a bad line, a timeout)
  };
  Kind kind = Kind::kNotify;
  Notify notify;
  core::Error error;
  bool first = false;  // kNotify: the first notification of its stream
};

struct BusOptions {
  uint64_t mask = notify_mask::kInitialState | notify_mask::kNoPrivateKeys;
  std::chrono::milliseconds idle_timeout = std::chrono::hours(24);  // a stream silent this long breaks
  bool reconnect = false;
};

class BusFollower {
 public:
  using Handler = std::function<void(const BusEvent&)>;
  using Clock = std::chrono::steady_clock;

  // Subscribes at once. The client is the follower's own (a stream holds its connection).
  BusFollower(std::unique_ptr<LocalApiClient> client, BusOptions options, Handler on_event = {});
  ~BusFollower();  // stop() and join
  BusFollower(const BusFollower&) = delete;
  BusFollower& operator=(const BusFollower&) = delete;

  // Without a handler: the oldest queued event, waiting until the deadline. nullopt when the
  // deadline passed, or after stop() or an interrupt (the caller tells which).
  std::optional<BusEvent> next(Clock::time_point deadline);
  // Drops the queued notifications (those that came before something the caller did).
  void drain();
  // Ends the stream and the thread (the destructor joins it); a handler call in progress may finish.
  void stop();

 private:
  void run();
  void deliver(BusEvent e);

  std::unique_ptr<LocalApiClient> client_;
  BusOptions options_;
  Handler on_event_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<BusEvent> events_;
  bool stopped_ = false;
  int interrupt_handle_ = 0;
  std::thread thread_;
};

}  // namespace tb::ts
