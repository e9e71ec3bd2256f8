#pragma once
// sing-box v1.13.19's DNS cache (dns/client.go): answers by question (name, type), or by question
// and server with independent_cache; an LRU of cache_capacity entries (at least 1024); an entry
// lives for its answer's TTL (dns.hpp, Answer::ttl: an NXDOMAIN or empty answer by its SOA), or
// forever with disable_expire. Thread-safe: sb-relay's
// threads share one cache per DNS settings.

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace tb::net {

class DnsCache {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::vector<std::string> addresses;
    std::string server;  // the tag that answered
    int rcode = 0;       // 0, or 3: a kept NXDOMAIN (client.go keeps NOERROR and NXDOMAIN answers)
  };

  DnsCache(size_t capacity, bool independent, bool disable_expire)
      : capacity_(capacity), independent_(independent), disable_expire_(disable_expire) {}

  std::optional<Entry> get(const std::string& name, uint16_t qtype, const std::string& server, Clock::time_point now);
  // Answers (NOERROR, empty ones too, or NXDOMAIN) with a TTL, or any with disable_expire, are kept.
  void put(const std::string& name, uint16_t qtype, const std::string& server, Entry e, uint32_t ttl,
           Clock::time_point now);
  size_t size() const;

 private:
  using Key = std::tuple<std::string, uint16_t, std::string>;
  struct Slot {
    Entry entry;
    Clock::time_point expires;
    std::list<Key>::iterator lru;
  };
  Key key(const std::string& name, uint16_t qtype, const std::string& server) const {
    return {name, qtype, independent_ ? server : std::string()};
  }

  size_t capacity_;
  bool independent_, disable_expire_;
  mutable std::mutex mu_;
  std::map<Key, Slot> slots_;
  std::list<Key> lru_;  // most recent first
};

}  // namespace tb::net
