// The schema table against its users: the checker refuses as unknown exactly the keys the table
// says sing-box 1.13 does not have, format orders by it, ts-auth's dial fields come from it.

#include "libcommon/route/schema.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/format.hpp"

namespace tb::route::schema {
namespace {

using tb::core::Json;

// A config with `key` (null) in an object of the section; nullopt for sections checked elsewhere.
std::optional<Json> config_with(const Key& k) {
  std::string key(k.name);
  std::string variant(k.only.substr(0, k.only.find(' ')));
  Json obj = {{key, nullptr}};
  switch (k.section) {
    case Section::kTop: return obj;
    case Section::kLog: return Json{{"log", obj}};
    case Section::kListen:
    case Section::kLegacyInbound:
    case Section::kInbound:
      obj["type"] = variant.empty() ? "mixed" : variant;
      return Json{{"inbounds", {obj}}};
    case Section::kDial:
    case Section::kOutbound:
      obj["type"] = variant.empty() ? "socks" : variant;
      return Json{{"outbounds", {obj}}};
    case Section::kTailscale:
      obj["type"] = "tailscale";
      return Json{{"endpoints", {obj}}};
    case Section::kRoute: return Json{{"route", obj}};
    case Section::kRule: return Json{{"route", {{"rules", {obj}}}}};
    case Section::kDns: return Json{{"dns", obj}};
    case Section::kDnsRule: return Json{{"dns", {{"rules", {obj}}}}};
    case Section::kDnsServer:
      obj["type"] = variant;
      return Json{{"dns", {{"servers", {obj}}}}};
    case Section::kRuleSet:
      obj["tag"] = "s";
      if (key != "type") obj["type"] = variant.empty() ? "inline" : variant;
      return Json{{"route", {{"rule_set", {obj}}}}};
    default: return std::nullopt;
  }
}

TEST(Schema, CheckerRefusesAsUnknownExactlyTheKeysSingBox113Lacks) {
  int checked = 0;
  for (const auto& k : table()) {
    auto cfg = config_with(k);
    if (!cfg) continue;
    auto c = compile_config(*cfg);
    bool unknown = false;
    for (const auto& d : c->diagnostics)
      unknown = unknown || d.message == "json: unknown field \"" + std::string(k.name) + "\"";
    EXPECT_EQ(unknown, k.support == Support::kLater) << cfg->dump();
    ++checked;
  }
  EXPECT_GT(checked, 200);
}

TEST(Schema, NoKeyTwiceForOneVariant) {
  for (const auto& k : table()) {
    std::string variant(k.only.substr(0, k.only.find(' ')));
    auto keys = order(k.section, variant);
    EXPECT_EQ(std::count(keys.begin(), keys.end(), k.name), 1) << k.name << " " << variant;
  }
}

TEST(Schema, DialFieldsAndVariants) {
  for (const char* k : {"detour", "routing_mark", "connect_timeout", "disable_tcp_keep_alive", "tcp_keep_alive",
                        "tcp_keep_alive_interval", "domain_resolver", "protect_path"})
    EXPECT_TRUE(is_dial_key(k)) << k;
  EXPECT_FALSE(is_dial_key("ssh_server"));
  EXPECT_FALSE(accepts(Section::kTailscale, "ssh_server"));
  EXPECT_TRUE(accepts(Section::kOutbound, "version", "socks"));
  EXPECT_FALSE(accepts(Section::kOutbound, "version", "http"));
  EXPECT_TRUE(accepts(Section::kDnsServer, "accept_default_resolvers", "resolved"));
  EXPECT_EQ(find(Section::kDnsServer, "path", "https")->support, Support::kCarried);
  EXPECT_EQ(find(Section::kDnsServer, "path", "h3")->support, Support::kRefused);
  EXPECT_FALSE(accepts(Section::kDnsServer, "path", "udp"));
  EXPECT_EQ(order(Section::kRouteRuleAction, "reject"), (std::vector<std::string_view>{"action", "method", "no_drop"}));
}

TEST(Schema, FormatOrdersALaterKeyToo) {
  auto out = format_config(Json::parse(R"({"endpoints":[{"ssh_server":true,"udp_timeout":"1m","hostname":"h","type":"tailscale"}]})"));
  std::vector<std::string> keys;
  for (auto it = out["endpoints"][0].begin(); it != out["endpoints"][0].end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"type", "hostname", "udp_timeout", "ssh_server"}));
}

}  // namespace
}  // namespace tb::route::schema
