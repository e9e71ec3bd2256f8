// SockDiagProcessSearcher: the socket's inode and uid from NETLINK_SOCK_DIAG (inet_diag), as
// sing-box v1.13.19's common/process/searcher_linux_shared.go asks it: one SOCK_DIAG_BY_FAMILY
// request for the exact 4-tuple, else a dump filtered by the source port. /proc/net is read only
// when netlink fails (no socket, or an error other than "no such socket").

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libcommon/route/process.hpp"

namespace tb::route {

namespace {

struct DiagRequest {
  nlmsghdr nlh;
  inet_diag_req_v2 req;
};

void put_addr(__be32 (&dst)[4], const IpAddr& a) { std::memcpy(dst, a.bytes.data(), a.v4 ? 4 : 16); }

bool same_addr(const __be32 (&got)[4], const IpAddr& a) { return std::memcmp(got, a.bytes.data(), a.v4 ? 4 : 16) == 0; }

IpAddr v4_mapped(const IpAddr& a) {
  if (!a.v4) return a;
  IpAddr m;
  m.bytes[10] = m.bytes[11] = 0xff;
  std::memcpy(m.bytes.data() + 12, a.bytes.data(), 4);
  return m;
}

int open_diag() {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  timeval tv{0, 100 * 1000};  // a lost answer costs 100 ms at most
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

SockDiagProcessSearcher::SockDiagProcessSearcher(std::string proc_root) : table_(proc_root), procfs_(proc_root) {}

SockDiagProcessSearcher::~SockDiagProcessSearcher() {
  if (fd_ >= 0) close(fd_);
}

// Sends one request and reads its answers (a dump: until NLMSG_DONE).
SockDiagProcessSearcher::Diag SockDiagProcessSearcher::exchange(const void* req, size_t len, bool dump,
                                                                const IpAddr& src, uint16_t sport, Found& out) const {
  if (send(fd_, req, len, 0) != static_cast<ssize_t>(len)) return Diag::kFailed;
  alignas(nlmsghdr) char buf[16384];
  Diag result = Diag::kNotFound;
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return Diag::kFailed;
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq_) continue;  // a late answer to an earlier request
      if (h->nlmsg_type == NLMSG_DONE) return result;
      if (h->nlmsg_type == NLMSG_ERROR) {
        int err = -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        if (err == 0) continue;
        return err == ENOENT || err == ESRCH ? result : Diag::kFailed;
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      auto* m = static_cast<inet_diag_msg*>(NLMSG_DATA(h));
      bool ours = !dump || (ntohs(m->id.idiag_sport) == sport && same_addr(m->id.idiag_src, src));
      if (ours && result == Diag::kNotFound && m->idiag_inode != 0) {
        out.inode = m->idiag_inode;
        out.uid = m->idiag_uid;
        result = Diag::kFound;
      }
    }
    if (!dump) return result;
  }
}

SockDiagProcessSearcher::Diag SockDiagProcessSearcher::diag(bool udp, const IpAddr& src, uint16_t sport,
                                                            const std::optional<IpAddr>& dst, uint16_t dport,
                                                            Found& out) const {
  std::lock_guard lock(mu_);
  if (fd_ < 0) fd_ = open_diag();
  if (fd_ < 0) return Diag::kFailed;
  DiagRequest r{};
  r.nlh.nlmsg_len = sizeof r;
  r.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  r.req.sdiag_family = static_cast<uint8_t>(src.v4 ? AF_INET : AF_INET6);
  r.req.sdiag_protocol = static_cast<uint8_t>(udp ? IPPROTO_UDP : IPPROTO_TCP);
  r.req.idiag_states = ~0u;
  r.req.id.idiag_cookie[0] = r.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  Diag d = Diag::kNotFound;
  if (dst && dst->v4 == src.v4) {
    r.nlh.nlmsg_flags = NLM_F_REQUEST;
    r.nlh.nlmsg_seq = ++seq_;
    // The kernel's udp_dump_one looks the endpoints up reversed (sing-box swaps them too).
    const IpAddr& a = udp ? *dst : src;
    const IpAddr& b = udp ? src : *dst;
    r.req.id.idiag_sport = htons(udp ? dport : sport);
    r.req.id.idiag_dport = htons(udp ? sport : dport);
    put_addr(r.req.id.idiag_src, a);
    put_addr(r.req.id.idiag_dst, b);
    d = exchange(&r, sizeof r, false, src, sport, out);
    if (d != Diag::kNotFound) return d;
  }
  DiagRequest dump{};
  dump.nlh = r.nlh;
  dump.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  dump.nlh.nlmsg_seq = ++seq_;
  dump.req = r.req;
  std::memset(&dump.req.id, 0, sizeof dump.req.id);
  dump.req.id.idiag_sport = htons(sport);
  dump.req.id.idiag_cookie[0] = dump.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  d = exchange(&dump, sizeof dump, true, src, sport, out);
  if (d == Diag::kFailed) {  // a half-read dump: start the next request on a fresh socket
    close(fd_);
    fd_ = -1;
  }
  return d;
}

std::optional<SocketOwner> SockDiagProcessSearcher::owner(const std::string& network, const IpAddr& source,
                                                          uint16_t source_port,
                                                          const std::optional<IpAddr>& destination,
                                                          uint16_t destination_port) const {
  Found f;
  bool udp = network == "udp";
  Diag d = diag(udp, source, source_port, destination, destination_port, f);
  if (d == Diag::kNotFound && source.v4) {  // a dual-stack socket: ::ffff:a.b.c.d in the IPv6 table
    std::optional<IpAddr> dst6;
    if (destination) dst6 = v4_mapped(*destination);
    d = diag(udp, v4_mapped(source), source_port, dst6, destination_port, f);
  }
  if (d == Diag::kFailed && !procfs_.socket_inode(network, source, source_port, f.inode, f.uid)) return std::nullopt;
  if (d == Diag::kNotFound) return std::nullopt;
  SocketOwner o;
  o.info.user_id = f.uid;
  o.pid = table_.pid_of_socket(f.inode, f.uid);
  table_.describe(o);
  return o;
}

std::optional<ProcessInfo> SockDiagProcessSearcher::find(const std::string& network, const IpAddr& source,
                                                         uint16_t source_port, const std::optional<IpAddr>& destination,
                                                         uint16_t destination_port) const {
  auto o = owner(network, source, source_port, destination, destination_port);
  if (!o) return std::nullopt;
  return o->info;
}

}  // namespace tb::route
