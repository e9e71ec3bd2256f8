// Socket owner lookup on Linux, as sing-box's process searcher does: find the socket's inode and
// uid in /proc/net/{tcp,udp}{,6} by its local address, then the process holding that inode in
// /proc/<pid>/fd. Reads procfs only; no sockets.

#include <dirent.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "libcommon/route/request.hpp"

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

}  // namespace

std::optional<ProcessInfo> ProcFsProcessSearcher::find(const std::string& network, const IpAddr& source,
                                                       uint16_t source_port, const std::optional<IpAddr>&,
                                                       uint16_t) const {
  char port[8];
  std::snprintf(port, sizeof port, "%04X", source_port);
  uint64_t inode = 0;
  int64_t uid = -1;
  std::string proto = network == "udp" ? "udp" : "tcp";
  bool found = find_inode(root_ + "/net/" + proto + (source.v4 ? "" : "6"), proc_hex(source) + ":" + port, inode, uid);
  if (!found && source.v4) {
    // A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d in the tcp6 table.
    IpAddr mapped;
    mapped.bytes[10] = mapped.bytes[11] = 0xff;
    std::copy(source.bytes.begin(), source.bytes.begin() + 4, mapped.bytes.begin() + 12);
    found = find_inode(root_ + "/net/" + proto + "6", proc_hex(mapped) + ":" + port, inode, uid);
  }
  if (!found) return std::nullopt;
  ProcessInfo info;
  info.user_id = uid;
  if (struct passwd* pw = getpwuid(static_cast<uid_t>(uid))) info.user = pw->pw_name;
  std::string want = "socket:[" + std::to_string(inode) + "]";
  DIR* proc = opendir(root_.c_str());
  if (!proc) return info;
  while (struct dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string fd_dir = root_ + "/" + e->d_name + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (!fds) continue;
    bool hit = false;
    while (struct dirent* f = readdir(fds)) {
      char target[64] = {};
      std::string link = fd_dir + "/" + f->d_name;
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n > 0 && want == std::string(target, static_cast<size_t>(n))) {
        hit = true;
        break;
      }
    }
    closedir(fds);
    if (!hit) continue;
    char exe[4096] = {};
    std::string exe_link = root_ + "/" + e->d_name + "/exe";
    ssize_t n = readlink(exe_link.c_str(), exe, sizeof exe - 1);
    if (n > 0) {
      info.path.assign(exe, static_cast<size_t>(n));
      auto slash = info.path.rfind('/');
      info.name = slash == std::string::npos ? info.path : info.path.substr(slash + 1);
    }
    break;
  }
  closedir(proc);
  return info;
}

}  // namespace tb::route
