#include "libcommon/net/dns_cache.hpp"

namespace tb::net {

std::optional<DnsCache::Entry> DnsCache::get(const std::string& name, uint16_t qtype, const std::string& server,
                                             Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(key(name, qtype, server));
  if (it == slots_.end()) return std::nullopt;
  if (!disable_expire_ && now >= it->second.expires) {
    lru_.erase(it->second.lru);
    slots_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.entry;
}

void DnsCache::put(const std::string& name, uint16_t qtype, const std::string& server, Entry e, uint32_t ttl,
                   Clock::time_point now) {
  if (ttl == 0 && !disable_expire_) return;
  std::lock_guard lock(mu_);
  Key k = key(name, qtype, server);
  if (auto it = slots_.find(k); it != slots_.end()) {
    lru_.erase(it->second.lru);
    slots_.erase(it);
  }
  lru_.push_front(k);
  slots_[k] = Slot{std::move(e), now + std::chrono::seconds(ttl), lru_.begin()};
  while (slots_.size() > capacity_) {
    slots_.erase(lru_.back());
    lru_.pop_back();
  }
}

size_t DnsCache::size() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

}  // namespace tb::net
