// ask_dns against a DNS server on loopback, as sb-relay asks 100.100.100.100: A and AAAA in
// flight at once, answers matched by ID, type and name, the timeout bounding both.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "libcommon/net/dialer.hpp"
#include "libcommon/net/dns.hpp"

using namespace tb::net;
using namespace std::chrono_literals;

namespace {

struct Query {
  Buffer bytes;
  udp::endpoint from;
  uint16_t qtype() const { return static_cast<uint16_t>((bytes[bytes.size() - 4] << 8) | bytes[bytes.size() - 3]); }
};

// Our query turned into its answer: QR and RA set, one record (or none) naming the question.
Buffer answer(const Query& q, std::vector<uint8_t> rdata, int id_delta = 0) {
  Buffer r = q.bytes;
  int id = ((r[0] << 8) | r[1]) + id_delta;
  r[0] = static_cast<uint8_t>(id >> 8);
  r[1] = static_cast<uint8_t>(id);
  r[2] |= 0x80;
  r[3] = 0x80;
  if (rdata.empty()) return r;
  r[7] = 1;
  uint16_t type = rdata.size() == 4 ? dns::kTypeA : dns::kTypeAAAA;
  r.insert(r.end(), {0xC0, 0x0C, static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1, 0, 0, 0, 60, 0,
                     static_cast<uint8_t>(rdata.size())});
  r.insert(r.end(), rdata.begin(), rdata.end());
  return r;
}

const std::vector<uint8_t> kV4{100, 64, 0, 7};
const std::vector<uint8_t> kV6{0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};

// Runs ask_dns for `name` against a server that reads both queries, then lets `reply` send what it
// wants through `send`.
using Send = std::function<void(const Buffer&, const udp::endpoint&)>;
Resolved ask(const std::string& name, std::chrono::milliseconds timeout,
             std::function<void(const std::vector<Query>&, const Send&)> reply) {
  asio::io_context io;
  udp::socket server(io, udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  std::vector<Query> queries;
  auto send = [&server](const Buffer& b, const udp::endpoint& to) { server.send_to(asio::buffer(b), to); };
  asio::co_spawn(io, [&]() -> awaitable<void> {
    for (int i = 0; i < 2; ++i) {
      Query q;
      q.bytes.resize(512);
      auto n = co_await server.async_receive_from(asio::buffer(q.bytes), q.from, use_awaitable);
      q.bytes.resize(n);
      queries.push_back(std::move(q));
    }
    reply(queries, send);
  }, asio::detached);
  Resolved out;
  asio::co_spawn(io, [&]() -> awaitable<void> { out = co_await ask_dns(name, server.local_endpoint(), timeout); },
                 asio::detached);
  io.run_for(5s);
  EXPECT_EQ(queries.size(), 2u);
  return out;
}

std::vector<std::string> texts(const Resolved& r) {
  std::vector<std::string> out;
  for (const auto& a : r.addresses) out.push_back(a.to_string());
  return out;
}

}  // namespace

TEST(AskDns, BothAtOnceMatchedByIdTypeAndName) {
  auto r = ask("peer.tail1234.ts.net", 2s, [](const std::vector<Query>& q, const Send& send) {
    ASSERT_EQ(q.size(), 2u);
    EXPECT_NE(q[0].bytes[0] * 256 + q[0].bytes[1], q[1].bytes[0] * 256 + q[1].bytes[1]);  // two IDs
    const Query& a = q[0].qtype() == dns::kTypeA ? q[0] : q[1];
    const Query& aaaa = q[0].qtype() == dns::kTypeA ? q[1] : q[0];
    send(answer(a, {1, 2, 3, 4}, 1), a.from);     // a guessed ID: ignored
    send(answer(aaaa, kV6), aaaa.from);           // AAAA first
    send(answer(aaaa, {9, 9, 9, 9}), aaaa.from);  // a second answer to a question already answered
    send(answer(a, kV4), a.from);
  });
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(texts(r), (std::vector<std::string>{"100.64.0.7", "fd7a:115c:a1e0::7"}));  // A before AAAA
}

TEST(AskDns, WhatCameBeforeTheTimeoutIsKept) {
  auto start = std::chrono::steady_clock::now();
  auto r = ask("v4only.tail1234.ts.net", 300ms, [](const std::vector<Query>& q, const Send& send) {
    for (const auto& x : q)
      if (x.qtype() == dns::kTypeA) send(answer(x, kV4), x.from);
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(texts(r), (std::vector<std::string>{"100.64.0.7"}));
}

TEST(AskDns, NoAnswerAndNoAddress) {
  auto silent = ask("nosuch.tail1234.ts.net", 200ms, [](const std::vector<Query>&, const Send&) {});
  EXPECT_TRUE(silent.addresses.empty());
  EXPECT_EQ(silent.error, "ask 127.0.0.1 for nosuch.tail1234.ts.net: timed out");
  auto empty = ask("nosuch.tail1234.ts.net", 2s, [](const std::vector<Query>& q, const Send& send) {
    for (const auto& x : q) send(answer(x, {}), x.from);
  });
  EXPECT_EQ(empty.error, "127.0.0.1 has no address for nosuch.tail1234.ts.net");
  // An answer for another name does not count.
  auto other = ask("peer.tail1234.ts.net", 300ms, [](const std::vector<Query>& q, const Send& send) {
    for (const auto& x : q) {
      Buffer b = answer(x, kV4);
      b[13] = 'x';  // "peer" → "xeer"
      send(b, x.from);
    }
  });
  EXPECT_TRUE(other.addresses.empty());
  EXPECT_NE(other.error.find("timed out"), std::string::npos);
}
