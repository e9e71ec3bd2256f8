// The socket owner searchers: /proc (process_linux.cpp) on a fake /proc tree, and netlink
// sock_diag (process_diag_linux.cpp) on this process's own loopback sockets.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "libcommon/route/process.hpp"

namespace tb::route {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(ProcFs, FindsTheOwnerInAFakeProc) {
  // A /proc tree with one tcp socket 127.0.0.1:40000 (inode 4242, uid 0) held by pid 7.
  std::string root = ::testing::TempDir() + "/fakeproc";
  std::filesystem::create_directories(root + "/net");
  std::filesystem::create_directories(root + "/7/fd");
  std::ofstream(root + "/net/tcp") << "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
                                      "   0: 0100007F:9C40 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 4242 1\n";
  std::error_code ec;
  std::filesystem::remove(root + "/7/fd/3", ec);
  std::filesystem::remove(root + "/7/exe", ec);
  std::filesystem::create_symlink("socket:[4242]", root + "/7/fd/3");
  std::filesystem::create_symlink("/usr/bin/curl", root + "/7/exe");
  ProcFsProcessSearcher s(root);
  auto p = s.find("tcp", ip("127.0.0.1"), 40000, ip("127.0.0.1"), 80);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "curl");
  EXPECT_EQ(p->user_id, 0);
  EXPECT_EQ(p->user, "root");
  EXPECT_FALSE(s.find("tcp", ip("127.0.0.1"), 40001, std::nullopt, 0));
  // The table: pid 7 holds the inode for any user; for a uid that does not own /proc/7, nobody.
  ProcTable t(root);
  EXPECT_EQ(t.pid_of_socket(4242, -1), 7);
  EXPECT_EQ(t.pid_of_socket(4243, -1), -1);
  EXPECT_EQ(t.pid_of_socket(4242, static_cast<int64_t>(getuid()) + 1), -1);
  EXPECT_EQ(t.pid_of_socket(4242, static_cast<int64_t>(getuid())), 7);
}

// A connected loopback TCP pair in this process; the client's port.
struct Pair {
  int listener = -1, client = -1, server = -1;
  uint16_t client_port = 0, server_port = 0;
  Pair() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listener, 1) != 0) return;
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    server_port = ntohs(a.sin_port);
    client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    server = accept(listener, nullptr, nullptr);
    len = sizeof a;
    getsockname(client, reinterpret_cast<sockaddr*>(&a), &len);
    client_port = ntohs(a.sin_port);
  }
  ~Pair() {
    for (int fd : {listener, client, server})
      if (fd >= 0) close(fd);
  }
};

TEST(SockDiag, FindsThisProcessAsTheOwnerOfItsLoopbackSocket) {
  Pair p;
  ASSERT_GT(p.client_port, 0);
  SockDiagProcessSearcher s;
  for (bool exact : {true, false}) {
    std::optional<IpAddr> dst;
    if (exact) dst = ip("127.0.0.1");
    auto o = s.owner("tcp", ip("127.0.0.1"), p.client_port, dst, exact ? p.server_port : 0);
    ASSERT_TRUE(o) << (exact ? "exact" : "dump");
    EXPECT_EQ(o->pid, getpid());
    EXPECT_EQ(o->info.user_id, static_cast<int64_t>(getuid()));
    EXPECT_EQ(o->info.name, "unit_route");
    EXPECT_EQ(o->info.path.substr(o->info.path.rfind('/') + 1), "unit_route");
  }
  // The server's side of the same connection is this process too; a port nobody holds is nobody's.
  auto srv = s.owner("tcp", ip("127.0.0.1"), p.server_port, ip("127.0.0.1"), p.client_port);
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->pid, getpid());
  close(p.client);
  p.client = -1;
  close(p.server);
  p.server = -1;
  close(p.listener);
  p.listener = -1;
  EXPECT_FALSE(s.owner("tcp", ip("127.0.0.1"), p.server_port, std::nullopt, 0));
}

}  // namespace
}  // namespace tb::route
