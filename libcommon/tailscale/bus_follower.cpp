#include "libcommon/tailscale/bus_follower.hpp"

#include <algorithm>

#include "libcommon/core/process.hpp"

namespace tb::ts {

using namespace std::chrono_literals;

BusFollower::BusFollower(std::unique_ptr<LocalApiClient> client, BusOptions options, Handler on_event)
    : client_(std::move(client)), options_(options), on_event_(std::move(on_event)) {
  interrupt_handle_ = core::on_interrupt([this] { stop(); });
  thread_ = std::thread([this] { run(); });
}

BusFollower::~BusFollower() {
  core::remove_on_interrupt(interrupt_handle_);
  stop();
  if (thread_.joinable()) thread_.join();
}

void BusFollower::stop() {
  {
    // Notify under the lock: otherwise the wake-up can land between a waiter's predicate check and
    // its sleep, and be lost.
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  client_->cancel();
}

void BusFollower::deliver(BusEvent e) {
  if (on_event_) {
    on_event_(e);  // not under mu_: the handler takes its owner's lock, and the owner calls stop()
    return;
  }
  std::lock_guard lock(mu_);
  events_.push_back(std::move(e));
  cv_.notify_all();
}

void BusFollower::run() {
  auto backoff = 250ms;
  for (;;) {
    bool first = true;
    auto result = client_->watch_ipn_bus(
        options_.mask,
        [&](const Notify& n) {
          {
            std::lock_guard lock(mu_);
            if (stopped_) return false;
          }
          if (first) backoff = 250ms;
          deliver(BusEvent{BusEvent::Kind::kNotify, n, {}, first});
          first = false;
          return true;
        },
        options_.idle_timeout);
    std::unique_lock lock(mu_);
    if (stopped_) return;
    lock.unlock();
    deliver(result ? BusEvent{BusEvent::Kind::kClosed, {}, {}, false}
                   : BusEvent{BusEvent::Kind::kFailed, {}, result.error(), false});
    if (!options_.reconnect) return;
    lock.lock();
    cv_.wait_for(lock, backoff, [this] { return stopped_; });
    if (stopped_) return;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5000ms);
  }
}

std::optional<BusEvent> BusFollower::next(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [this] { return !events_.empty() || stopped_; });
  if (stopped_ || core::interrupted() || events_.empty()) return std::nullopt;
  BusEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void BusFollower::drain() {
  std::lock_guard lock(mu_);
  while (!events_.empty() && events_.front().kind == BusEvent::Kind::kNotify) events_.pop_front();
}

}  // namespace tb::ts
