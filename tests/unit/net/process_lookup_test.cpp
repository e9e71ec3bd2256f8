// sb-relay's socket owner lookup (process_lookup.hpp): answered on the lookup threads, this
// process for its own loopback connection, nobody for a client on another host.

#include "libcommon/net/process_lookup.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

namespace tb::net {
namespace {

using tb::route::IpAddr;
using tb::route::SocketOwner;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

std::optional<SocketOwner> lookup(const IpAddr& client, uint16_t cport, const IpAddr& local, uint16_t lport,
                                  std::thread::id* ran_on = nullptr) {
  std::promise<std::optional<SocketOwner>> p;
  auto f = p.get_future();
  find_client_process(client, cport, local, lport, [&p, ran_on](std::optional<SocketOwner> o) {
    if (ran_on) *ran_on = std::this_thread::get_id();
    p.set_value(std::move(o));
  });
  EXPECT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  return f.get();
}

TEST(ProcessLookup, FindsThisProcessOffTheCallingThread) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t server_port = ntohs(a.sin_port);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  int server = accept(listener, nullptr, nullptr);
  len = sizeof a;
  getsockname(client, reinterpret_cast<sockaddr*>(&a), &len);
  std::thread::id ran_on;
  auto o = lookup(ip("127.0.0.1"), ntohs(a.sin_port), ip("127.0.0.1"), server_port, &ran_on);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->pid, getpid());
  EXPECT_EQ(o->info.user_id, static_cast<int64_t>(getuid()));
  EXPECT_NE(ran_on, std::this_thread::get_id());
  for (int fd : {client, server, listener}) close(fd);
}

TEST(ProcessLookup, ClientsOnOtherHostsHaveNoProcess) {
  EXPECT_TRUE(is_local_address(ip("127.0.0.1")));
  EXPECT_TRUE(is_local_address(ip("127.0.0.53")));
  EXPECT_TRUE(is_local_address(ip("::1")));
  EXPECT_FALSE(is_local_address(ip("192.0.2.1")));  // TEST-NET-1: no host has it
  EXPECT_FALSE(lookup(ip("192.0.2.1"), 40000, ip("127.0.0.1"), 1080));
}

}  // namespace
}  // namespace tb::net
