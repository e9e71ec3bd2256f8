#pragma once
// Socket owners on Linux, for the process rules (process_name, process_path, process_path_regex,
// user, user_id), as sing-box v1.13.19's searcher does (common/process/searcher_linux*.go): the
// socket's inode and uid from NETLINK_SOCK_DIAG (one exact 4-tuple request), or from
// /proc/net/{tcp,udp}{,6} where netlink is unavailable; then the process holding that inode among
// the uid's processes in /proc/<pid>/fd. Blocking (procfs): sb-relay calls it off its event loops
// (libcommon/net/process_lookup.hpp). Every class here is safe to share between threads.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/route/request.hpp"

namespace tb::route {

// The owner of a socket: its process (pid -1 when no process holds it any more, or procfs cannot
// be read) and what the rules see.
struct SocketOwner {
  int64_t pid = -1;
  ProcessInfo info;
};

// Processes under a procfs root (tests use a fake tree): which one holds a socket inode, and its
// executable and user name.
class ProcTable {
 public:
  explicit ProcTable(std::string root = "/proc") : root_(std::move(root)) {}
  // The pid holding socket:[inode], among the processes of `uid` (-1: any user); -1 when none.
  // The few pids that owned sockets last are looked at first (a client opening many connections),
  // then every process, newest first.
  int64_t pid_of_socket(uint64_t inode, int64_t uid);
  // path and name (the base name of path, as sing-box's process_name compares it), user.
  void describe(SocketOwner& o);
  std::string user_name(int64_t uid);
  const std::string& root() const { return root_; }

 private:
  bool holds(int64_t pid, const std::string& link, int64_t uid) const;
  std::string root_;
  std::mutex mu_;
  std::vector<int64_t> hot_;              // recent owners, most recent first
  std::map<int64_t, std::string> users_;  // uid → name (passwd rarely changes)
};

// NETLINK_SOCK_DIAG first, /proc/net tables when netlink fails; then ProcTable.
class SockDiagProcessSearcher : public ProcessSearcher {
 public:
  explicit SockDiagProcessSearcher(std::string proc_root = "/proc");
  ~SockDiagProcessSearcher() override;
  SockDiagProcessSearcher(const SockDiagProcessSearcher&) = delete;
  SockDiagProcessSearcher& operator=(const SockDiagProcessSearcher&) = delete;

  std::optional<ProcessInfo> find(const std::string& network, const IpAddr& source, uint16_t source_port,
                                  const std::optional<IpAddr>& destination, uint16_t destination_port) const override;
  // The same with the pid. `destination` is the socket's peer: with it the kernel looks the exact
  // 4-tuple up; without it (or when that finds nothing) every socket bound to the source port is
  // listed and the one with the source address taken, as sing-box does.
  std::optional<SocketOwner> owner(const std::string& network, const IpAddr& source, uint16_t source_port,
                                   const std::optional<IpAddr>& destination, uint16_t destination_port) const;

 private:
  struct Found {
    uint64_t inode = 0;
    int64_t uid = -1;
  };
  enum class Diag { kFound, kNotFound, kFailed };
  Diag diag(bool udp, const IpAddr& src, uint16_t sport, const std::optional<IpAddr>& dst, uint16_t dport,
            Found& out) const;
  Diag exchange(const void* req, size_t len, bool dump, const IpAddr& src, uint16_t sport, Found& out) const;
  mutable std::mutex mu_;  // the netlink socket: one request at a time
  mutable int fd_ = -1;
  mutable uint32_t seq_ = 0;
  mutable ProcTable table_;
  ProcFsProcessSearcher procfs_;
};

}  // namespace tb::route
