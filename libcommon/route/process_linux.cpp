// Socket owner lookup on Linux through procfs: the socket's inode and uid in
// /proc/net/{tcp,udp}{,6} by its local address, then the process holding that inode in
// /proc/<pid>/fd (ProcTable, shared with the netlink searcher of process_diag_linux.cpp).

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "libcommon/route/process.hpp"

namespace tb::route {

namespace {

// /proc/net/tcp writes each 32-bit word of the address in host byte order, as hex.
std::string proc_hex(const IpAddr& a) {
  char buf[33] = {};
  int words = a.v4 ? 1 : 4;
  for (int w = 0; w < words; ++w) {
    const uint8_t* b = a.bytes.data() + 4 * w;
    std::snprintf(buf + 8 * w, 9, "%02X%02X%02X%02X", b[3], b[2], b[1], b[0]);
  }
  return buf;
}

bool find_inode(const std::string& file, const std::string& local, uint64_t& inode, int64_t& uid) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string sl, loc, rem, st, queues, tr, retr;
    int64_t u = -1;
    uint64_t ino = 0;
    std::string timeout;
    if (!(ss >> sl >> loc >> rem >> st >> queues >> tr >> retr >> u >> timeout >> ino)) continue;
    if (loc == local && ino != 0) {
      inode = ino;
      uid = u;
      return true;
    }
  }
  return false;
}

// Numeric entries of the procfs root, highest (newest, short of pid wrap-around) first.
std::vector<int64_t> all_pids(const std::string& root) {
  std::vector<int64_t> pids;
  DIR* proc = opendir(root.c_str());
  if (!proc) return pids;
  while (struct dirent* e = readdir(proc)) {
    char* end = nullptr;
    long long pid = std::strtoll(e->d_name, &end, 10);
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && end && *end == '\0') pids.push_back(pid);
  }
  closedir(proc);
  std::sort(pids.rbegin(), pids.rend());
  return pids;
}

}  // namespace

// ---- ProcTable ----

bool ProcTable::holds(int64_t pid, const std::string& link, int64_t uid) const {
  std::string dir = root_ + "/" + std::to_string(pid);
  struct stat st {};
  if (uid >= 0 && (stat(dir.c_str(), &st) != 0 || static_cast<int64_t>(st.st_uid) != uid)) return false;
  std::string fd_dir = dir + "/fd";
  DIR* fds = opendir(fd_dir.c_str());
  if (!fds) return false;
  bool hit = false;
  char target[64];
  while (!hit) {
    struct dirent* f = readdir(fds);
    if (!f) break;
    if (f->d_name[0] == '.') continue;
    ssize_t n = readlinkat(dirfd(fds), f->d_name, target, sizeof target);
    hit = n == static_cast<ssize_t>(link.size()) && std::memcmp(target, link.data(), link.size()) == 0;
  }
  closedir(fds);
  return hit;
}

int64_t ProcTable::pid_of_socket(uint64_t inode, int64_t uid) {
  std::string link = "socket:[" + std::to_string(inode) + "]";
  std::vector<int64_t> hot;
  {
    std::lock_guard lock(mu_);
    hot = hot_;
  }
  int64_t found = -1;
  for (size_t i = 0; i < hot.size() && found < 0; ++i)
    if (holds(hot[i], link, uid)) found = hot[i];
  if (found < 0) {
    for (int64_t pid : all_pids(root_)) {
      if (std::find(hot.begin(), hot.end(), pid) == hot.end() && holds(pid, link, uid)) {
        found = pid;
        break;
      }
    }
  }
  if (found >= 0) {
    std::lock_guard lock(mu_);
    hot_.erase(std::remove(hot_.begin(), hot_.end(), found), hot_.end());
    hot_.insert(hot_.begin(), found);
    if (hot_.size() > 8) hot_.resize(8);
  }
  return found;
}

std::string ProcTable::user_name(int64_t uid) {
  if (uid < 0) return "";
  {
    std::lock_guard lock(mu_);
    if (auto it = users_.find(uid); it != users_.end()) return it->second;
  }
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf(16384);
  std::string name;
  if (getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &res) == 0 && res) name = res->pw_name;
  std::lock_guard lock(mu_);
  if (users_.size() > 256) users_.clear();
  users_[uid] = name;
  return name;
}

void ProcTable::describe(SocketOwner& o) {
  o.info.user = user_name(o.info.user_id);
  if (o.pid < 0) return;
  char exe[4096];
  std::string exe_link = root_ + "/" + std::to_string(o.pid) + "/exe";
  ssize_t n = readlink(exe_link.c_str(), exe, sizeof exe);
  if (n <= 0 || n == static_cast<ssize_t>(sizeof exe)) return;
  o.info.path.assign(exe, static_cast<size_t>(n));
  auto slash = o.info.path.rfind('/');
  o.info.name = slash == std::string::npos ? o.info.path : o.info.path.substr(slash + 1);
}

// ---- ProcFsProcessSearcher ----

bool ProcFsProcessSearcher::socket_inode(const std::string& network, const IpAddr& source, uint16_t source_port,
                                         uint64_t& inode, int64_t& uid) const {
  char port[8];
  std::snprintf(port, sizeof port, "%04X", source_port);
  std::string proto = network == "udp" ? "udp" : "tcp";
  if (find_inode(root_ + "/net/" + proto + (source.v4 ? "" : "6"), proc_hex(source) + ":" + port, inode, uid))
    return true;
  if (!source.v4) return false;
  // A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d in the tcp6 table.
  IpAddr mapped;
  mapped.bytes[10] = mapped.bytes[11] = 0xff;
  std::copy(source.bytes.begin(), source.bytes.begin() + 4, mapped.bytes.begin() + 12);
  return find_inode(root_ + "/net/" + proto + "6", proc_hex(mapped) + ":" + port, inode, uid);
}

std::optional<ProcessInfo> ProcFsProcessSearcher::find(const std::string& network, const IpAddr& source,
                                                       uint16_t source_port, const std::optional<IpAddr>&,
                                                       uint16_t) const {
  SocketOwner o;
  uint64_t inode = 0;
  if (!socket_inode(network, source, source_port, inode, o.info.user_id)) return std::nullopt;
  ProcTable table(root_);
  o.pid = table.pid_of_socket(inode, -1);
  table.describe(o);
  return o.info;
}

}  // namespace tb::route
