// health.State from the IPN bus and the dns-query answer reader (health.hpp, dns_query.hpp).
#include <gtest/gtest.h>

#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/dns_query.hpp"
#include "libcommon/tailscale/health.hpp"

namespace tb::ts {
namespace {

using core::Json;

TEST(Health, HealthyAndAbsent) {
  EXPECT_FALSE(parse_health_state(Json()).has_value());
  auto healthy = parse_health_state(Json::parse(R"({"Warnings": null})"));
  ASSERT_TRUE(healthy.has_value());
  EXPECT_TRUE(healthy->empty());
}

TEST(Health, WarningsSortedWithTheirFields) {
  // As tailscaled v1.102.5 sent it in the lab (wantrunning-false), plus a connectivity one.
  auto w = parse_health_state(Json::parse(R"({"Warnings": {
    "wantrunning-false": {"WarnableCode": "wantrunning-false", "Severity": "low", "Title": "Tailscale off",
      "Text": "Tailscale is stopped.", "BrokenSince": "2026-12-07T13:58:06.393460291Z", "Args": {"State": "NeedsLogin"},
      "DependsOn": ["warming-up"], "ETag": "b8d7"},
    "network-status": {"WarnableCode": "network-status", "Severity": "medium", "Title": "Network down",
      "Text": "Tailscale cannot connect because the network is down.", "ImpactsConnectivity": true}}})"));
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->size(), 2u);
  EXPECT_EQ((*w)[0].code, "network-status");
  EXPECT_TRUE((*w)[0].impacts_connectivity);
  EXPECT_FALSE((*w)[0].broken_since.has_value());
  EXPECT_EQ((*w)[1].code, "wantrunning-false");
  EXPECT_EQ((*w)[1].severity, "low");
  EXPECT_FALSE((*w)[1].impacts_connectivity);
  Json j = health_warnings_json(*w);
  EXPECT_EQ(j[1]["broken_since"], "2026-12-07T13:58:06Z");
  EXPECT_EQ(j[0]["broken_since"], nullptr);
}

TEST(DnsQuery, Base64) {
  EXPECT_EQ(core::base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(core::base64_decode("aGVsbG8"), "hello");
  EXPECT_FALSE(core::base64_decode("a*b").has_value());
  EXPECT_FALSE(core::base64_decode("-_8").has_value());  // the URL alphabet only when asked
  EXPECT_EQ(core::base64_decode("-_8", true), "\xfb\xff");
  for (const std::string& s : std::initializer_list<std::string>{"", "a", "al", "ali", "alice:pwd", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(core::base64_decode(core::base64_encode(s)), s) << s;
  EXPECT_EQ(core::base64_encode("alice:pwd"), "YWxpY2U6cHdk");
  EXPECT_EQ(core::base64_encode("ab"), "YWI=");
  EXPECT_EQ(core::base64_encode("a"), "YQ==");
}

TEST(DnsQuery, AnswerAddresses) {
  // One question (peer.ts.net A), answers: A 100.64.0.2 by pointer, then an AAAA.
  std::string m("\x12\x34\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00", 12);
  m += std::string("\x04peer\x02ts\x03net\x00\x00\x01\x00\x01", 17);
  m += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x02\x58\x00\x04\x64\x40\x00\x02", 16);
  m += std::string("\xc0\x0c\x00\x1c\x00\x01\x00\x00\x02\x58\x00\x10", 12);
  m += std::string("\xfd\x7a\x11\x5c\xa1\xe0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02", 16);
  auto a = dns_answer_addresses(m);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, (std::vector<std::string>{"100.64.0.2", "fd7a:115c:a1e0:0:0:0:0:2"}));
  EXPECT_FALSE(dns_answer_addresses(m.substr(0, m.size() - 3)).has_value());  // cut short
  EXPECT_FALSE(dns_answer_addresses("short").has_value());
}

TEST(DnsQuery, TailnetAddresses) {
  EXPECT_TRUE(is_tailnet_address("100.64.0.1"));
  EXPECT_TRUE(is_tailnet_address("100.127.255.254"));
  EXPECT_FALSE(is_tailnet_address("100.128.0.1"));
  EXPECT_FALSE(is_tailnet_address("10.0.0.1"));
  EXPECT_TRUE(is_tailnet_address("fd7a:115c:a1e0::1"));
  EXPECT_TRUE(is_tailnet_address("FD7A:115C:A1E0:0:0:0:0:2"));
  EXPECT_FALSE(is_tailnet_address("fd7a:115c:a1e1::1"));
}

}  // namespace
}  // namespace tb::ts
