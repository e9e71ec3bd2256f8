#include "cmd/ts-status/follower.hpp"

#include "libcommon/core/process.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using namespace std::chrono_literals;
using core::Json;

namespace {
// Initial state and prefs (so a reconnect is announced at once), no private keys (value 16: needed
// by non-root watchers on 1.54–1.90), initial health, peer deltas and patches where supported.
// Older daemons ignore the bits they do not know.
constexpr uint64_t kMask = ts::notify_mask::kInitialState | ts::notify_mask::kInitialPrefs |
                           ts::notify_mask::kNoPrivateKeys | ts::notify_mask::kInitialHealthState |
                           ts::notify_mask::kPeerChanges | ts::notify_mask::kPeerPatches;

// The daemon went away (reachable false) or came back.
Json daemon_event(bool reachable, std::string message) {
  Json e = ts::make_event("daemon", core::now_unix());
  e["reachable"] = reachable;
  e["message"] = std::move(message);
  return e;
}

std::unique_ptr<ts::LocalApiClient> client_for(const CommonArgs& common) {
  ts::ClientOptions opts;
  opts.timeout = common.timeout;
  opts.connect_retry = 0ms;  // the follower has its own retry policy
  return ts::connect_local_api(common.socket, opts);
}
}  // namespace

StatusFollower::StatusFollower(const CommonArgs& common, std::chrono::milliseconds interval)
    : req_client_(client_for(common)), interval_(interval) {
  bus_ = std::make_unique<ts::BusFollower>(client_for(common), ts::BusOptions{.mask = kMask, .reconnect = true},
                                           [this](const ts::BusEvent& e) { on_bus(e); });
  interrupt_handle_ = core::on_interrupt([this] { stop(); });
}

StatusFollower::~StatusFollower() {
  core::remove_on_interrupt(interrupt_handle_);
  stop();
  bus_.reset();
}

void StatusFollower::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  bus_->stop();
  req_client_->cancel();
}

void StatusFollower::on_bus(const ts::BusEvent& e) {
  std::lock_guard lock(mu_);
  if (stop_) return;
  if (e.kind != ts::BusEvent::Kind::kNotify) {
    if (!daemon_down_) {
      events_.push_back(daemon_event(false, e.kind == ts::BusEvent::Kind::kClosed ? std::string("tailscaled closed the stream")
                                                                                  : e.error.line()));
      daemon_down_ = true;
    }
  } else {
    if (e.first && daemon_down_) {
      events_.push_back(daemon_event(true, "tailscaled is back"));
      reconnected_ = true;
      daemon_down_ = false;
    }
    if (e.notify.has_health) health_ = ts::parse_health_state(e.notify.raw["Health"]);
    if (e.notify.err_message && !e.notify.err_message->empty()) {
      Json ev = ts::make_event("backend_error", core::now_unix());
      ev["message"] = *e.notify.err_message;
      events_.push_back(std::move(ev));
    }
  }
  dirty_ = true;
  cv_.notify_all();
}

StatusFollower::Update StatusFollower::next(std::optional<std::chrono::steady_clock::time_point> deadline) {
  Update u;
  std::optional<std::vector<ts::HealthWarning>> health;
  {
    std::unique_lock lock(mu_);
    auto wake = std::chrono::steady_clock::now() + interval_;
    if (deadline && *deadline < wake) wake = *deadline;
    if (retry_at_ && *retry_at_ < wake) wake = *retry_at_;  // the last status read failed: retry
    cv_.wait_until(lock, wake, [this] { return dirty_ || stop_; });
    if (stop_) {
      u.interrupted = true;
      return u;
    }
    if (!dirty_ && deadline && std::chrono::steady_clock::now() >= *deadline) {
      u.timed_out = true;
      return u;
    }
    // Coalesce a burst: wait for 50 ms of quiet, at most 250 ms in all.
    auto limit = std::chrono::steady_clock::now() + 250ms;
    while (dirty_ && std::chrono::steady_clock::now() < limit) {
      dirty_ = false;
      cv_.wait_for(lock, 50ms, [this] { return dirty_ || stop_; });
      if (stop_) {
        u.interrupted = true;
        return u;
      }
    }
    dirty_ = false;
    u.events.assign(events_.begin(), events_.end());
    events_.clear();
    u.reconnected = reconnected_;
    reconnected_ = false;
    // The bus's health as of now, not as of after the read: a health Notify that arrives while
    // the status is read would otherwise put its warnings into a record whose `health` (from the
    // status) predates it, and that record would go out without the health event. That Notify
    // has set dirty_, so the next read carries it, with its event.
    health = health_;
  }
  auto status = req_client_->status(true);
  if (status) add_dns_config(*req_client_, *status);
  std::lock_guard lock(mu_);
  if (status) status->health_warnings = std::move(health);
  if (!status) {
    if (status.error().code == core::ExitCode::kInterrupted) {
      u.interrupted = true;
      return u;
    }
    u.record = ts::unreachable_status_record(status.error());
    // A status read that fails (a timeout on a slow daemon) while the bus stream still stands is
    // a lost daemon too: said once, then retried with the bus's backoff without waiting for news.
    if (!daemon_down_) {
      u.events.push_back(daemon_event(false, status.error().line()));
      daemon_down_ = true;
    }
    retry_at_ = std::chrono::steady_clock::now() + retry_backoff_;
    retry_backoff_ = std::min<std::chrono::milliseconds>(retry_backoff_ * 2, 5000ms);
  } else {
    u.record = ts::status_record(*status);
    retry_at_.reset();
    retry_backoff_ = 250ms;
    if (daemon_down_) {
      u.events.push_back(daemon_event(true, "tailscaled answers again"));
      u.reconnected = true;
      daemon_down_ = false;
    }
  }
  return u;
}

}  // namespace tb::cmd
