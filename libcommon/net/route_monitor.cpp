#include "libcommon/net/route_monitor.hpp"

#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace tb::net {

namespace {

struct IfAddr {
  NetInterface iface;
  asio::ip::address addr;
  unsigned prefix = 0;
};

struct DefaultRoute {
  unsigned oif = 0;
  uint32_t metric = 0;
  bool v6 = false;
};

std::string if_name(unsigned index) {
  char name[IF_NAMESIZE] = {};
  return if_indextoname(index, name) ? std::string(name) : std::string();
}

// One RTM_NEWROUTE message as a default route of the main table (nullopt for anything else).
std::optional<DefaultRoute> as_main_default(const nlmsghdr* h) {
  const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
  if (rt->rtm_dst_len != 0 || rt->rtm_type != RTN_UNICAST) return std::nullopt;
  uint32_t table = rt->rtm_table;
  DefaultRoute r;
  r.v6 = rt->rtm_family == AF_INET6;
  int len = static_cast<int>(RTM_PAYLOAD(h));
  for (auto* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    uint32_t v = 0;
    if (RTA_PAYLOAD(a) >= sizeof v) std::memcpy(&v, RTA_DATA(a), sizeof v);
    if (a->rta_type == RTA_TABLE) table = v;
    if (a->rta_type == RTA_OIF) r.oif = v;
    if (a->rta_type == RTA_PRIORITY) r.metric = v;
  }
  if (table != RT_TABLE_MAIN || r.oif == 0 || if_name(r.oif) == "tailscale0") return std::nullopt;
  return r;
}

// The main table's default route: IPv4 before IPv6 (netlink's dump order, which sing-tun takes
// the first of), the lowest metric within a family.
std::optional<DefaultRoute> dump_default_route() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return std::nullopt;
  struct {
    nlmsghdr nh;
    rtmsg rt;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = AF_UNSPEC;
  std::optional<DefaultRoute> best;
  if (::send(fd, &req, sizeof req, 0) == static_cast<ssize_t>(sizeof req)) {
    std::vector<char> buf(1 << 16);
    for (bool done = false; !done;) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      int left = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          break;
        }
        if (h->nlmsg_type != RTM_NEWROUTE) continue;
        auto r = as_main_default(h);
        if (r && (!best || (best->v6 && !r->v6) || (best->v6 == r->v6 && r->metric < best->metric))) best = r;
      }
    }
  }
  ::close(fd);
  return best;
}

unsigned prefix_length(const sockaddr* mask) {
  if (!mask) return 0;
  const auto* bytes = mask->sa_family == AF_INET
                          ? reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr)
                          : reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
  size_t n = mask->sa_family == AF_INET ? 4 : 16;
  unsigned bits = 0;
  for (size_t i = 0; i < n; ++i) bits += static_cast<unsigned>(__builtin_popcount(bytes[i]));
  return bits;
}

// The addresses of the running interfaces.
std::vector<IfAddr> read_addresses() {
  std::vector<IfAddr> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_RUNNING)) continue;
    int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    std::string name = i->ifa_name;
    name = name.substr(0, name.find(':'));  // an IPv4 label ("eth0:1") is its interface
    IfAddr a{{name, if_nametoindex(name.c_str())}, {}, prefix_length(i->ifa_netmask)};
    if (family == AF_INET) {
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
      a.addr = asio::ip::address_v4(b);
    } else {
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
      a.addr = asio::ip::address_v6(b);
    }
    if (a.iface.index != 0) out.push_back(std::move(a));
  }
  freeifaddrs(list);
  return out;
}

std::vector<uint8_t> raw(const asio::ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return {b.begin(), b.end()};
  }
  auto b = a.to_v6().to_bytes();
  return {b.begin(), b.end()};
}

bool in_prefix(const asio::ip::address& a, const IfAddr& p) {
  if (a.is_v4() != p.addr.is_v4()) return false;
  auto x = raw(a), y = raw(p.addr);
  for (unsigned bit = 0; bit < p.prefix && bit / 8 < x.size(); ++bit) {
    auto m = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((x[bit / 8] & m) != (y[bit / 8] & m)) return false;
  }
  return true;
}

class Monitor {
 public:
  static Monitor& get() {
    static Monitor* m = new Monitor();  // its thread runs until the process exits
    return *m;
  }

  std::optional<NetInterface> pick(const asio::ip::address& remote) {
    std::lock_guard lock(mu_);
    if (!remote.is_unspecified()) {
      for (const auto& a : addrs_)
        if (a.addr == remote) return a.iface;
      for (const auto& a : addrs_)
        if (in_prefix(remote, a)) return a.iface;
    }
    return default_;
  }

 private:
  Monitor() {
    sub_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (sub_ >= 0 && ::bind(sub_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(sub_);
      sub_ = -1;
    }
    if (sub_ < 0)
      spdlog::warn("auto_detect_interface: cannot listen to route changes (netlink: {}); the default interface "
                   "is read once", std::strerror(errno));
    refresh();  // after subscribing: no change is lost in between
    if (sub_ >= 0) std::thread([this] { loop(); }).detach();
  }

  void refresh() {
    auto route = dump_default_route();
    auto addrs = read_addresses();
    std::optional<NetInterface> now;
    if (route) now = NetInterface{if_name(route->oif), route->oif};
    std::lock_guard lock(mu_);
    addrs_ = std::move(addrs);
    bool changed = now.has_value() != default_.has_value() || (now && (now->index != default_->index || now->name != default_->name));
    default_ = now;
    if (changed && now) spdlog::info("auto_detect_interface: default interface {} (index {})", now->name, now->index);
    if (changed && !now) spdlog::info("auto_detect_interface: no default route in the main table");
  }

  void loop() {
    std::vector<char> buf(1 << 16);
    for (;;) {
      ssize_t n = ::recv(sub_, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != ENOBUFS) {  // ENOBUFS: events were lost; the refresh reads them all anyway
        spdlog::warn("auto_detect_interface: netlink: {}; no longer following route changes", std::strerror(errno));
        return;
      }
      while (::recv(sub_, buf.data(), buf.size(), MSG_DONTWAIT) > 0) {
      }
      refresh();
    }
  }

  std::mutex mu_;
  std::optional<NetInterface> default_;
  std::vector<IfAddr> addrs_;
  int sub_ = -1;
};

}  // namespace

std::optional<NetInterface> auto_detect_interface_for(const asio::ip::address& remote) {
  return Monitor::get().pick(remote);
}

}  // namespace tb::net
