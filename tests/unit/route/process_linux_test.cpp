// The /proc process searcher (process_linux.cpp) on a fake /proc tree.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "libcommon/route/request.hpp"

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
}

}  // namespace
}  // namespace tb::route
