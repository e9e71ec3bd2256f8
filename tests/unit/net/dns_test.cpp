// The DNS wire codec (RFC 1035) used to ask 100.100.100.100.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "libcommon/net/dns.hpp"

using namespace tb::net;

TEST(Dns, QueryAndAnswer) {
  auto q = dns::query(0x1234, "nas.ts.net", dns::kTypeA);
  std::vector<uint8_t> want{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'n', 'a', 's', 2, 't', 's', 3, 'n', 'e', 't', 0, 0, 1, 0, 1};
  EXPECT_EQ(q, Buffer(want.begin(), want.end()));
  // The response: same question, one A answer with a compressed name pointer.
  Buffer resp = q;
  resp[2] = 0x81;
  resp[3] = 0x80;
  resp[7] = 1;
  Buffer rr{0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 100, 101, 1, 2};
  resp.insert(resp.end(), rr.begin(), rr.end());
  auto a = dns::parse_response(Bytes(resp.data(), resp.size()));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value.id, 0x1234);
  EXPECT_EQ(a.value.addresses, (std::vector<std::string>{"100.101.1.2"}));
}

namespace {
Buffer answer_to(const Buffer& query, const std::vector<Buffer>& records) {
  Buffer resp = query;
  resp[2] |= 0x80;  // QR
  resp[3] = 0x80;   // RA, NOERROR
  resp[7] = static_cast<uint8_t>(records.size());
  for (const auto& r : records) resp.insert(resp.end(), r.begin(), r.end());
  return resp;
}
const Buffer kPeerA{0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4, 100, 64, 0, 2};
const Buffer kPeerAAAA{0xC0, 0x0C, 0, 28, 0, 1, 0, 0, 2, 0x58, 0, 16, 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
}  // namespace

TEST(Dns, QuestionIsEchoed) {
  auto a = dns::parse_response(Bytes(answer_to(dns::query(7, "Peer.Tail1234.ts.net", dns::kTypeAAAA), {kPeerAAAA})));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value.qname, "Peer.Tail1234.ts.net");
  EXPECT_EQ(a.value.qtype, dns::kTypeAAAA);
  EXPECT_EQ(a.value.addresses, (std::vector<std::string>{"fd7a:115c:a1e0::2"}));
  auto both = dns::parse_response(Bytes(answer_to(dns::query(8, "p.ts.net", dns::kTypeA), {kPeerA, kPeerAAAA})));
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both.value.addresses, (std::vector<std::string>{"100.64.0.2", "fd7a:115c:a1e0::2"}));
}

TEST(Dns, NxdomainAndOtherRecords) {
  Buffer nx = answer_to(dns::query(9, "nope.ts.net", dns::kTypeA), {});
  nx[3] = 0x83;
  auto a = dns::parse_response(Bytes(nx));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value.rcode, 3);
  EXPECT_TRUE(a.value.addresses.empty());
  // A CNAME (type 5) before the address: skipped; its target's A record, named by a pointer into
  // the CNAME's data, is taken.
  Buffer cname{0xC0, 0x0C, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xC0, 0x0C};
  Buffer q = dns::query(10, "git.ts.net", dns::kTypeA);
  uint8_t target = static_cast<uint8_t>(q.size() + 12);
  Buffer a_rr{0xC0, target, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7};
  auto c = dns::parse_response(Bytes(answer_to(q, {cname, a_rr})));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value.addresses, (std::vector<std::string>{"10.0.0.7"}));
}

TEST(Dns, RefusesMalformedMessages) {
  Buffer q = dns::query(11, "peer.ts.net", dns::kTypeA);
  EXPECT_EQ(dns::parse_response(Bytes(q)).status, ParseStatus::kBad);  // a query, not a response
  Buffer full = answer_to(q, {kPeerA});
  for (size_t cut = 0; cut < full.size(); ++cut)
    EXPECT_EQ(dns::parse_response(Bytes(full.data(), cut)).status, ParseStatus::kBad) << cut;
  // A name that is a pointer to itself, and one through eleven pointers.
  Buffer loop{0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  EXPECT_EQ(dns::parse_response(Bytes(loop)).status, ParseStatus::kBad);
  // The question's name through a chain of pointers (forwards, as Go's dnsmessage allows): ten
  // are taken, eleven refused.
  auto chained = [](int pointers) {
    Buffer m{0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 18, 0, 1, 0, 1};
    for (int k = 1; k < pointers; ++k) m.insert(m.end(), {0xC0, static_cast<uint8_t>(18 + 2 * k)});
    m.insert(m.end(), {1, 'x', 0});
    return m;
  };
  auto ten = dns::parse_response(Bytes(chained(10)));
  ASSERT_TRUE(ten.ok());
  EXPECT_EQ(ten.value.qname, "x");
  EXPECT_EQ(dns::parse_response(Bytes(chained(11))).status, ParseStatus::kBad);
  // Reserved label types 0x40 and 0x80.
  Buffer reserved{0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'x', 0, 0, 1, 0, 1};
  EXPECT_EQ(dns::parse_response(Bytes(reserved)).status, ParseStatus::kBad);
  // A name longer than 255 bytes.
  Buffer longname{0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {
    longname.push_back(63);
    longname.insert(longname.end(), 63, 'a');
  }
  longname.insert(longname.end(), {0, 0, 1, 0, 1});
  EXPECT_EQ(dns::parse_response(Bytes(longname)).status, ParseStatus::kBad);
}

TEST(Dns, RandomIds) {
  std::set<uint16_t> seen;
  for (int i = 0; i < 64; ++i) seen.insert(dns::random_id());
  EXPECT_GT(seen.size(), 32u);  // 64 draws from 65536 values: a repeat or two at most, not a clock
}

// hijack-dns: a query parses to its one question, and the response built for it answers the
// question's type only, echoing ID, RD and class; a response, or two questions, is not a query.
TEST(Dns, QueryParsesAndIsAnswered) {
  auto q = dns::query(0x4242, "Hj.Test", dns::kTypeA);
  auto p = dns::parse_query(Bytes(q.data(), q.size()));
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.value.id, 0x4242);
  EXPECT_EQ(p.value.qname, "Hj.Test");
  EXPECT_EQ(p.value.qtype, dns::kTypeA);
  EXPECT_EQ(p.value.qclass, 1);
  EXPECT_TRUE(p.value.recursion_desired);
  auto r = dns::response(p.value, 0, {"127.0.0.2", "::1", "junk", "127.0.0.3"}, 60);
  auto back = dns::parse_response(Bytes(r.data(), r.size()));
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_EQ(back.value.id, 0x4242);
  EXPECT_EQ(back.value.qname, "Hj.Test");
  EXPECT_EQ(back.value.addresses, (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
  EXPECT_EQ(back.value.ttl, 60u);
  EXPECT_EQ(r[2] & 0x01, 0x01);  // RD echoed
  auto nx = dns::response(p.value, 3, {"127.0.0.2"}, 60);
  auto nxp = dns::parse_response(Bytes(nx.data(), nx.size()));
  ASSERT_TRUE(nxp.ok());
  EXPECT_EQ(nxp.value.rcode, 3);
  EXPECT_TRUE(nxp.value.addresses.empty());
  EXPECT_FALSE(dns::parse_query(Bytes(r.data(), r.size())).ok());  // a response
  Buffer two = q;
  two[5] = 2;
  EXPECT_FALSE(dns::parse_query(Bytes(two.data(), two.size())).ok());
  EXPECT_FALSE(dns::parse_query(Bytes(q.data(), 14)).ok());  // cut in the name
}

// The TC bit and the smallest TTL of the address answers.
TEST(Dns, TruncatedAndTtl) {
  auto q = dns::query(7, "t.test", dns::kTypeA);
  auto p = dns::parse_query(Bytes(q.data(), q.size()));
  ASSERT_TRUE(p.ok());
  auto r = dns::response(p.value, 0, {"127.0.0.2"}, 300);
  r[2] |= 0x02;
  auto back = dns::parse_response(Bytes(r.data(), r.size()));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back.value.truncated);
  EXPECT_EQ(back.value.ttl, 300u);
}

// How long an answer may be cached, as sing-box's client.go takes it: an NXDOMAIN or empty answer
// by min(TTL, MINIMUM) of its authority SOA; otherwise the smallest non-zero TTL of every record
// (a CNAME's too, not OPT's flags); nothing to go by is 0, never kept.
TEST(Dns, CacheTtlFollowsClientGo) {
  auto q = dns::query(9, "nx.test", dns::kTypeA);
  // SOA for "test": MNAME ns.test, RNAME h.test, SERIAL 1, REFRESH 2, RETRY 3, EXPIRE 4, MINIMUM.
  auto soa = [](uint32_t ttl, uint32_t minimum) {
    Buffer r{4, 't', 'e', 's', 't', 0, 0, 6, 0, 1};
    for (int s = 24; s >= 0; s -= 8) r.push_back(static_cast<uint8_t>(ttl >> s));
    Buffer rdata{2, 'n', 's', 0xC0, 12 + 3, 1, 'h', 0xC0, 12 + 3};  // names point at "test" in the question
    for (uint32_t v : {1u, 2u, 3u, 4u, minimum})
      for (int s = 24; s >= 0; s -= 8) rdata.push_back(static_cast<uint8_t>(v >> s));
    r.push_back(0);
    r.push_back(static_cast<uint8_t>(rdata.size()));
    r.insert(r.end(), rdata.begin(), rdata.end());
    return r;
  };
  auto negative = [&](int rcode, const Buffer& authority) {
    Buffer resp = q;
    resp[2] |= 0x80;
    resp[3] = static_cast<uint8_t>(0x80 | rcode);
    resp[9] = 1;  // NSCOUNT
    resp.insert(resp.end(), authority.begin(), authority.end());
    return dns::parse_response(Bytes(resp.data(), resp.size()));
  };
  auto nx = negative(3, soa(900, 60));
  ASSERT_TRUE(nx.ok()) << nx.error;
  EXPECT_EQ(nx.value.rcode, 3);
  EXPECT_EQ(nx.value.ttl, 60u);  // MINIMUM below the SOA's TTL
  auto zero_minimum = negative(3, soa(900, 0));  // an SOA that says 0 is as if there were none:
  ASSERT_TRUE(zero_minimum.ok()) << zero_minimum.error;
  EXPECT_EQ(zero_minimum.value.ttl, 900u);  // the smallest non-zero TTL, the SOA record's own
  auto nodata = negative(0, soa(30, 3600));
  ASSERT_TRUE(nodata.ok()) << nodata.error;
  EXPECT_TRUE(nodata.value.addresses.empty());
  EXPECT_EQ(nodata.value.ttl, 30u);  // the SOA's own TTL below MINIMUM
  // No SOA: nothing to go by.
  Buffer bare = q;
  bare[2] |= 0x80;
  bare[3] = 0x83;
  auto none = dns::parse_response(Bytes(bare.data(), bare.size()));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value.ttl, 0u);
  // With answers: the smallest non-zero TTL of all records, here a CNAME's (20) below the A's
  // (60); a record with TTL 0 and an OPT (whose TTL field is 0x8000, the DO bit) change nothing.
  Buffer cname{0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 20, 0, 2, 0xC0, 12};
  Buffer a{0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 9};
  Buffer zero{0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 10};
  Buffer opt{0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};
  Buffer resp = answer_to(q, {cname, a, zero});
  resp[11] = 1;  // ARCOUNT
  resp.insert(resp.end(), opt.begin(), opt.end());
  auto with = dns::parse_response(Bytes(resp.data(), resp.size()));
  ASSERT_TRUE(with.ok()) << with.error;
  EXPECT_EQ(with.value.addresses, (std::vector<std::string>{"127.0.0.9", "127.0.0.10"}));
  EXPECT_EQ(with.value.ttl, 20u);
  // A cut authority section costs only its TTL, not the answer.
  Buffer cut = answer_to(q, {a});
  cut[9] = 1;
  cut.push_back(0xC0);
  auto partial = dns::parse_response(Bytes(cut.data(), cut.size()));
  ASSERT_TRUE(partial.ok()) << partial.error;
  EXPECT_EQ(partial.value.addresses, (std::vector<std::string>{"127.0.0.9"}));
  EXPECT_EQ(partial.value.ttl, 60u);
}
