// What the relay server decides without sockets: which plans keep its listeners, which inbounds
// may be opened.
#include <gtest/gtest.h>

#include <vector>

#include "libcommon/net/server.hpp"

using namespace tb::net;

namespace {
InboundSpec inbound(std::string tag, std::string listen, uint16_t port) {
  InboundSpec in;
  in.tag = std::move(tag);
  in.type = "mixed";
  in.listen = std::move(listen);
  in.port = port;
  return in;
}
BoundInbound bound(const InboundSpec& in, uint16_t port) {
  BoundInbound b;
  b.spec = in;
  b.port = port;
  b.address = HostPort{in.listen, port}.str();
  return b;
}
}  // namespace

TEST(Listeners, SameTagsAddressesAndPorts) {
  auto a = inbound("mixed-in", "127.0.0.1", 1080);
  auto any = inbound("any-port", "::1", 0);
  std::vector<BoundInbound> b{bound(a, 1080), bound(any, 40123)};
  EXPECT_TRUE(listeners_match({a, any}, b));
  EXPECT_TRUE(listeners_match({a, inbound("any-port", "::1", 40123)}, b));  // the port 0 got
  auto with_users = a;
  with_users.users = {{"u", "p"}};
  EXPECT_TRUE(listeners_match({with_users, any}, b));  // users are the plan's, not the listener's
  EXPECT_FALSE(listeners_match({a}, b));
  EXPECT_FALSE(listeners_match({any, a}, b));
  EXPECT_FALSE(listeners_match({inbound("mixed-in", "127.0.0.1", 1081), any}, b));
  EXPECT_FALSE(listeners_match({inbound("mixed-in", "127.0.0.2", 1080), any}, b));
  EXPECT_FALSE(listeners_match({inbound("renamed", "127.0.0.1", 1080), any}, b));
  EXPECT_FALSE(listeners_match({a, inbound("any-port", "::1", 40124)}, b));
}

TEST(Listeners, ExposureNeedsUsersOrAllowOpen) {
  EXPECT_EQ(check_exposure({inbound("lo", "127.0.0.1", 1080), inbound("lo6", "::1", 1080)}, false), "");
  auto open = inbound("lan", "0.0.0.0", 1080);
  EXPECT_NE(check_exposure({open}, false).find("--allow-open"), std::string::npos);
  EXPECT_EQ(check_exposure({open}, true), "");
  open.users = {{"u", "p"}};
  EXPECT_EQ(check_exposure({open}, false), "");
  EXPECT_NE(check_exposure({inbound("bad", "localhost", 1080)}, true).find("not an IP address"), std::string::npos);
}
