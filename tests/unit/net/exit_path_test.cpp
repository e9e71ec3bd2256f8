#include "libcommon/net/exit_path.hpp"

#include <gtest/gtest.h>

namespace tb::net {
namespace {

using tb::route::IpAddr;
using tb::route::Prefix;
using tb::route::TailnetNode;
using tb::route::TailnetState;

TailnetState with_exit_node() {
  TailnetState t;
  t.state = "running";
  TailnetNode exit;
  exit.id = "nEXIT";
  exit.name = "exit";
  exit.online = true;
  t.exit_node = exit;
  TailnetNode router;
  router.routes.push_back(*Prefix::parse("203.0.113.0/24"));
  t.peers.push_back(router);
  return t;
}

OutboundSpec outbound(const std::string& type) {
  OutboundSpec o;
  o.type = type;
  o.tag = type;
  return o;
}

TEST(ExitPath, PublicDestinationsLeaveByTheExitNode) {
  TailnetState t = with_exit_node();
  auto e = exit_node_for(t, true, outbound("direct"), "198.18.0.10");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "exit");
  EXPECT_TRUE(exit_node_for(t, false, outbound("tailscale"), "198.18.0.10"));
}

TEST(ExitPath, WhatStaysOffTheExitNode) {
  TailnetState t = with_exit_node();
  OutboundSpec direct = outbound("direct");
  EXPECT_FALSE(exit_node_for(t, false, direct, "198.18.0.10")) << "userspace tailscaled: the host stack is not routed";
  EXPECT_FALSE(exit_node_for(t, true, direct, "100.64.0.5")) << "tailnet address";
  EXPECT_FALSE(exit_node_for(t, true, direct, "fd7a:115c:a1e0::5"));
  EXPECT_FALSE(exit_node_for(t, true, direct, "192.168.1.10")) << "private LAN";
  EXPECT_FALSE(exit_node_for(t, true, direct, "127.0.0.1"));
  EXPECT_FALSE(exit_node_for(t, true, direct, "203.0.113.7")) << "a peer's subnet route";
  EXPECT_FALSE(exit_node_for(t, true, direct, "")) << "not dialled";
  OutboundSpec marked = direct;
  marked.dial.routing_mark = 0x80000;
  EXPECT_FALSE(exit_node_for(t, true, marked, "198.18.0.10")) << "tailscale's bypass mark";
  marked.dial.routing_mark = 0x1;
  EXPECT_TRUE(exit_node_for(t, true, marked, "198.18.0.10")) << "another mark is routed as usual";
  OutboundSpec bound = direct;
  bound.dial.bind_interface = "wan0";
  EXPECT_FALSE(exit_node_for(t, true, bound, "198.18.0.10"));
  EXPECT_FALSE(exit_node_for(t, true, outbound("socks"), "198.18.0.10")) << "another proxy";
  TailnetState none = t;
  none.exit_node.reset();
  EXPECT_FALSE(exit_node_for(none, true, direct, "198.18.0.10"));
  TailnetState stopped = t;
  stopped.state = "stopped";
  EXPECT_FALSE(exit_node_for(stopped, true, direct, "198.18.0.10"));
}

}  // namespace
}  // namespace tb::net
