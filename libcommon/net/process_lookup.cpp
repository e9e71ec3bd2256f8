// The lookup threads of process_lookup.hpp: a bounded queue served by two threads that live as
// long as the process (a lookup blocks on procfs for a few milliseconds at worst; the sessions
// wait for it with a deadline, relay_session.cpp). No asio here.

#include "libcommon/net/process_lookup.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace tb::net {

namespace {

using Clock = std::chrono::steady_clock;
using tb::route::IpAddr;

constexpr size_t kMaxQueued = 256;
constexpr int kThreads = 2;

std::vector<IpAddr> interface_addresses() {
  std::vector<IpAddr> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    IpAddr a;
    if (i->ifa_addr->sa_family == AF_INET) {
      a.v4 = true;
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(a);
  }
  freeifaddrs(list);
  return out;
}

bool is_loopback(const IpAddr& a) {
  if (a.v4) return a.bytes[0] == 127;
  static const IpAddr one = *IpAddr::parse("::1");
  return a == one;
}

class LookupThreads {
 public:
  using Job = std::function<void()>;
  // false when the queue is full (the caller answers nullopt at once).
  bool post(Job j) {
    std::call_once(started_, [this] {
      for (int i = 0; i < kThreads; ++i) std::thread([this] { serve(); }).detach();
    });
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) return false;
    queue_.push_back(std::move(j));
    cv_.notify_one();
    return true;
  }
  const tb::route::SockDiagProcessSearcher& searcher() const { return searcher_; }

 private:
  void serve() {
    for (;;) {
      Job j;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        j = std::move(queue_.front());
        queue_.pop_front();
      }
      j();
    }
  }
  std::once_flag started_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  tb::route::SockDiagProcessSearcher searcher_;
};

// Lives as long as the process: its threads are detached and may still be serving at exit.
LookupThreads& threads() {
  static auto* t = new LookupThreads();
  return *t;
}

}  // namespace

bool is_local_address(const IpAddr& a) {
  if (is_loopback(a)) return true;
  static std::mutex mu;
  static std::vector<IpAddr> addrs;
  static Clock::time_point read_at;
  std::lock_guard lock(mu);
  if (read_at == Clock::time_point() || Clock::now() - read_at > std::chrono::seconds(1)) {
    addrs = interface_addresses();
    read_at = Clock::now();
  }
  for (const auto& x : addrs)
    if (x == a) return true;
  return false;
}

void find_client_process(const IpAddr& client, uint16_t client_port, const IpAddr& local, uint16_t local_port,
                         std::function<void(std::optional<tb::route::SocketOwner>)> done) {
  auto job = [client, client_port, local, local_port, done] {
    if (!is_local_address(client)) return done(std::nullopt);
    done(threads().searcher().owner("tcp", client, client_port, local, local_port));
  };
  if (!threads().post(job)) done(std::nullopt);
}

}  // namespace tb::net
