// Unit tests of the route engine's pieces: addresses, indexes, config reading, diagnostics,
// the router's index against a plain scan, tailnet rule-sets.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "libcommon/route/config.hpp"
#include "libcommon/route/format.hpp"
#include "libcommon/route/records.hpp"
#include "libcommon/route/router.hpp"
#include "libcommon/route/source.hpp"
#include "libcommon/route/tailnet.hpp"
#include "tests/unit/test_util.hpp"

namespace tb::route {
namespace {

using tb::core::Json;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(Ip, PublicFollowsGo) {
  EXPECT_TRUE(is_public(ip("100.64.0.1")));  // CGNAT / tailnet IPv4 is public
  EXPECT_FALSE(is_public(ip("fd7a:115c:a1e0::1")));
  EXPECT_FALSE(is_public(ip("10.1.2.3")));
  EXPECT_FALSE(is_public(ip("172.31.255.255")));
  EXPECT_TRUE(is_public(ip("172.32.0.0")));
  EXPECT_FALSE(is_public(ip("ff01::1")));
  EXPECT_FALSE(is_public(ip("::")));
  EXPECT_TRUE(is_public(ip("255.255.255.255")));
  EXPECT_TRUE(is_public(ip("2001:db8::1")));
  EXPECT_TRUE(IpAddr::parse("::ffff:10.0.0.1")->v4);
}

TEST(Ip, Prefixes) {
  EXPECT_EQ(Prefix::parse("192.168.1.1/24")->str(), "192.168.1.0/24");
  EXPECT_EQ(Prefix::parse("10.0.0.1")->bits, 32);
  EXPECT_FALSE(Prefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(Prefix::parse("10.0.0.0/"));
  EXPECT_FALSE(Prefix::parse("fd7a::/129"));
  EXPECT_TRUE(Prefix::parse("fd7a:115c:a1e0::/48")->contains(ip("fd7a:115c:a1e0::53")));
  EXPECT_FALSE(Prefix::parse("fd7a:115c:a1e0::/48")->contains(ip("100.64.0.1")));
  EXPECT_EQ(split_host_port("[::1]:80")->first, "::1");
  EXPECT_FALSE(split_host_port("::1:80"));
  EXPECT_FALSE(split_host_port("a.test:65536"));
}

TEST(DomainIndex, LabelBoundariesAndLeadingDot) {
  DomainIndex idx;
  idx.add_exact("example.com", 0);
  idx.add_suffix("le.com", 1);
  idx.add_suffix(".sub.org", 2);
  auto hits = [&](const char* host) {
    std::vector<uint32_t> out;
    idx.lookup(host, [&](uint32_t id) {
      out.push_back(id);
      return true;
    });
    return out;
  };
  EXPECT_EQ(hits("example.com"), std::vector<uint32_t>{0});
  EXPECT_TRUE(hits("google.com").empty());
  EXPECT_EQ(hits("le.com"), std::vector<uint32_t>{1});
  EXPECT_EQ(hits("a.b.le.com"), std::vector<uint32_t>{1});
  EXPECT_TRUE(hits("sub.org").empty());
  EXPECT_EQ(hits("x.sub.org"), std::vector<uint32_t>{2});
}

TEST(PrefixIndex, LongestAndShortest) {
  PrefixIndex idx;
  idx.add(*Prefix::parse("0.0.0.0/0"), 0);
  idx.add(*Prefix::parse("10.0.0.0/8"), 1);
  idx.add(*Prefix::parse("10.1.2.3/32"), 2);
  idx.add(*Prefix::parse("fd7a:115c:a1e0::/48"), 3);
  std::vector<uint32_t> out;
  idx.lookup(ip("10.1.2.3"), [&](uint32_t id) {
    out.push_back(id);
    return true;
  });
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<uint32_t>{0, 1, 2}));
  out.clear();
  idx.lookup(ip("fd7a:115c:a1e0:ab::1"), [&](uint32_t id) {
    out.push_back(id);
    return true;
  });
  EXPECT_EQ(out, std::vector<uint32_t>{3});
}

// The flat indexes against a plain scan: random values (enough to rehash the tables several
// times), label edge cases (empty labels, a lone dot, trailing dots), every prefix length.
TEST(DomainIndex, AgreesWithScan) {
  std::mt19937 rng(11);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const char* labels[] = {"a", "b", "test", "com", "x-y", "", "Ab", "example"};
  auto name = [&](size_t max_labels) {
    std::string s;
    size_t n = 1 + pick(max_labels);
    for (size_t i = 0; i < n; ++i) {
      if (i) s.push_back('.');
      s.append(labels[pick(8)]);
    }
    return s;
  };
  auto suffix_matches = [](std::string_view host, std::string_view value) {
    if (!value.empty() && value[0] == '.') return host.size() > value.size() && host.ends_with(value);
    if (host.size() == value.size()) return host == value;
    return host.size() > value.size() && host.ends_with(value) && host[host.size() - value.size() - 1] == '.';
  };
  for (int round = 0; round < 20; ++round) {
    DomainIndex idx;
    std::vector<std::pair<bool, std::string>> values;  // exact?, value
    size_t n = round < 10 ? 5 + pick(20) : 200 + pick(2000);
    for (size_t i = 0; i < n; ++i) {
      bool exact = pick(2) == 0;
      std::string v = pick(10) == 0 ? std::string(".") : name(3);
      if (v != "." && pick(3) == 0) v.insert(v.begin(), '.');
      if (exact && v[0] == '.') v.erase(0, 1);
      if (v.empty()) v = "a";
      values.emplace_back(exact, v);
      if (exact) idx.add_exact(v, static_cast<uint32_t>(i));
      else idx.add_suffix(v, static_cast<uint32_t>(i));
    }
    for (int q = 0; q < 300; ++q) {
      std::string host = name(5);
      if (pick(8) == 0) host.push_back('.');
      if (pick(16) == 0) host.insert(host.begin(), '.');
      std::vector<uint32_t> got, want;
      idx.lookup(host, [&](uint32_t id) {
        got.push_back(id);
        return true;
      });
      for (size_t i = 0; i < values.size(); ++i)
        if (!host.empty() && (values[i].first ? host == values[i].second : suffix_matches(host, values[i].second)))
          want.push_back(static_cast<uint32_t>(i));
      std::sort(got.begin(), got.end());
      got.erase(std::unique(got.begin(), got.end()), got.end());
      EXPECT_EQ(got, want) << host;
    }
  }
}

TEST(PrefixIndex, AgreesWithScan) {
  std::mt19937 rng(5);
  auto random_addr = [&](bool v4) {
    IpAddr a;
    a.v4 = v4;
    // Few distinct high bytes, so prefixes nest and collide.
    for (int i = 0; i < (v4 ? 4 : 16); ++i) a.bytes[i] = static_cast<uint8_t>(i < 2 ? rng() % 3 : rng());
    return a;
  };
  for (int round = 0; round < 20; ++round) {
    PrefixIndex idx;
    std::vector<Prefix> prefixes;
    size_t n = round < 10 ? 5 + rng() % 20 : 500 + rng() % 3000;
    for (size_t i = 0; i < n; ++i) {
      bool v4 = rng() % 3 != 0;
      int bits = static_cast<int>(rng() % (v4 ? 33 : 129));
      if (rng() % 2) bits = v4 ? 8 + static_cast<int>(rng() % 17) : 16 + static_cast<int>(rng() % 49);
      auto p = Prefix::parse(random_addr(v4).str() + "/" + std::to_string(bits));
      ASSERT_TRUE(p);
      prefixes.push_back(*p);
      idx.add(*p, static_cast<uint32_t>(i));
    }
    for (int q = 0; q < 500; ++q) {
      IpAddr a = q % 4 == 0 ? prefixes[rng() % prefixes.size()].addr : random_addr(rng() % 3 != 0);
      std::vector<uint32_t> got, want;
      idx.lookup(a, [&](uint32_t id) {
        got.push_back(id);
        return true;
      });
      for (size_t i = 0; i < prefixes.size(); ++i)
        if (prefixes[i].contains(a)) want.push_back(static_cast<uint32_t>(i));
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want) << a.str();
    }
  }
}

TEST(Source, CommentsAndTrailingCommas) {
  auto j = parse_config_text("// c\n{\"a\": [1, 2,], # x\n \"b\": \"//not\", /* y */ \"c\": {\"d\": 1,},}\n", "t.json");
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["b"], "//not");
  EXPECT_EQ((*j)["a"].size(), 2u);
}

TEST(Source, ErrorsAreConfigErrors) {
  for (const char* text : {"", "   ", "{", "[1]", "\x01\x02\x00garbage"}) {
    auto j = parse_config_text(std::string_view(text, text[0] == '\x01' ? 10 : std::strlen(text)), "t.json");
    ASSERT_FALSE(j) << text;
    EXPECT_EQ(j.error().code, tb::core::ExitCode::kConfig);
    EXPECT_EQ(j.error().message.find('\n'), std::string::npos);
  }
}

TEST(Source, YamlTypes) {
  auto j = parse_config_text("route:\n  rules:\n    - port: 443\n      domain: 'true'\n      invert: false\n", "c.yaml");
  ASSERT_TRUE(j) << j.error().message;
  const Json& r = (*j)["route"]["rules"][0];
  EXPECT_TRUE(r["port"].is_number_unsigned());
  EXPECT_TRUE(r["domain"].is_string());
  EXPECT_TRUE(r["invert"].is_boolean());
}

TEST(Source, NestingAndAliasExpansionAreBounded) {
  auto expect_config_error = [](const std::string& text, const char* name, const std::string& says) {
    auto j = parse_config_text(text, name);
    ASSERT_FALSE(j) << name;
    EXPECT_EQ(j.error().code, tb::core::ExitCode::kConfig);
    EXPECT_NE(j.error().message.find(says), std::string::npos) << j.error().message;
  };
  // JSON (and JSONC) nested 100,000 deep: refused before parsing (merge and format recurse).
  expect_config_error("{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}", "c.json",
                      "c.json: json: nested deeper than 512 levels");
  // yaml-cpp's own depth limit, with a message instead of its "bad file".
  expect_config_error("a: " + std::string(100000, '[') + std::string(100000, ']'), "c.yaml", "nested too deeply");
  // "Billion laughs": 9^9 values from 500 bytes of anchors and aliases.
  std::string laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1)), alias = "*" + prev;
    laughs += std::string(1, c) + ": &" + std::string(1, c) + " [" + alias;
    for (int i = 0; i < 8; ++i) laughs += ", " + alias;
    laughs += "]\n";
  }
  expect_config_error(laughs, "c.yaml", "yaml: aliases expand to more than");
  // Aliases used as sing-box users do (one shared list) still work.
  auto ok = parse_config_text("x: &ips [10.0.0.0/8, 100.64.0.0/10]\nroute:\n  rules:\n    - ip_cidr: *ips\n"
                              "      outbound: direct\n    - source_ip_cidr: *ips\n      outbound: direct\n",
                              "c.yaml");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)["route"]["rules"][1]["source_ip_cidr"][1], "100.64.0.0/10");
}

TEST(Source, NumbersPastADouble) {
  // nlohmann throws out_of_range (not parse_error) for 1e999: a bad config, not an uncaught
  // exception (found by the config_json fuzzer: sb-route check aborted).
  auto j = parse_config_text(R"({"route": {"rules": [{"port": 1e999, "outbound": "direct"}]}})", "c.json");
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, tb::core::ExitCode::kConfig);
  EXPECT_NE(j.error().message.find("c.json: number overflow parsing '1e999'"), std::string::npos) << j.error().message;
  // A YAML integer past a double stays a string, never a discarded value that dumps as "<discarded>".
  auto y = parse_config_text("route:\n  rules:\n    - port: " + std::string(400, '9') + "\n      outbound: direct\n", "c.yaml");
  ASSERT_TRUE(y) << y.error().message;
  const Json& port = (*y)["route"]["rules"][0]["port"];
  EXPECT_TRUE(port.is_string());
  EXPECT_EQ(y->dump().find("discarded"), std::string::npos);
  // Within a double (300 digits, with or without '+'), still a number: rejected later as out of a
  // port's range.
  for (const std::string& n : {std::string(300, '9'), "+" + std::string(300, '9')}) {
    auto big = parse_config_text("route:\n  rules:\n    - port: " + n + "\n", "c.yaml");
    ASSERT_TRUE(big) << big.error().message;
    EXPECT_TRUE((*big)["route"]["rules"][0]["port"].is_number_float()) << n.substr(0, 2);
  }
}

TEST(Source, MergeLikeSingBox) {
  Json a = Json::parse(R"({"outbounds":[{"tag":"a"}],"route":{"final":"a"}})");
  Json b = Json::parse(R"({"outbounds":[{"tag":"b"}],"route":{"final":"b","rules":[]}})");
  auto m = merge_json(a, b);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["outbounds"].size(), 2u);
  EXPECT_EQ((*m)["route"]["final"], "a");
  EXPECT_FALSE(merge_json(Json::parse(R"({"route":{}})"), Json::parse(R"({"route":1})")));
}

TEST(Config, EveryErrorWithItsPath) {
  auto c = compile_config(Json::parse(R"({
    "inbounds": [{"type": "tun", "tag": "t"}, {"type": "mixed", "listen_port": "x"}],
    "outbounds": [{"type": "vless", "tag": "v"}, {"type": "direct", "tag": "d"}],
    "route": {"rules": [{"domain": "a", "outbound": "d"}, {"port": [80, "x"], "outbound": "d"}, {"domain_regex": "(", "outbound": "d"}]}
  })"));
  EXPECT_FALSE(c->ok());
  std::vector<std::string> paths;
  for (const auto& d : c->diagnostics)
    if (d.severity == Severity::kError) paths.push_back(d.path);
  for (const char* want : {"inbounds[0]", "inbounds[1].listen_port", "outbounds[0]", "route.rules[1].port[1]",
                           "route.rules[2].domain_regex"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), want), paths.end()) << want;
  EXPECT_EQ(c->rules.size(), 1u);  // the valid rule is still compiled
}

TEST(Config, DefaultOutbound) {
  EXPECT_EQ(compile_config(Json::object())->final_outbound, "direct");
  EXPECT_EQ(compile_config(Json::object())->final_from, "implicit_direct");
  auto c = compile_config(Json::parse(R"({"endpoints":[{"type":"tailscale","tag":"ts"}],"outbounds":[{"type":"block"},{"type":"direct","tag":"d"}]})"));
  EXPECT_EQ(c->final_outbound, "0");  // untagged outbound: its index; endpoints never default
}

TEST(Config, Traps) {
  auto c = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"}],
    "route":{"rules":[{"outbound":"d"},{"ip_is_private":true,"outbound":"d"}]}})"));
  ASSERT_TRUE(c->ok());
  bool unreachable = false, cgnat = false;
  for (const auto& d : c->diagnostics) {
    unreachable = unreachable || (d.kind == "trap" && d.path == "route.rules[1]");
    cgnat = cgnat || (d.kind == "trap" && d.message.find("100.64.0.0/10") != std::string::npos);
  }
  EXPECT_TRUE(unreachable);
  EXPECT_TRUE(cgnat);
}

// The index must never change a decision: compare with a router whose rules are all unindexable
// (each rule wrapped so the index cannot take it) on random configs and requests.
TEST(Router, IndexAgreesWithScan) {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* hosts[] = {"a.test", "b.a.test", "c.test", "x.c.test", "10.0.0.1", "10.1.0.1", "192.168.1.1", "fd7a::1",
                         "B.A.Test.", ".c.test", "[fd7a::1]", "::ffff:10.0.0.2"};
  for (int round = 0; round < 50; ++round) {
    Json rules = Json::array(), wrapped = Json::array();
    for (int i = 0; i < 20; ++i) {
      Json r;
      switch (pick(5)) {
        case 0: r["domain"] = hosts[pick(4)]; break;
        case 1: r["domain_suffix"] = std::string(pick(2) ? "." : "") + (pick(2) ? "a.test" : "c.test"); break;
        case 2: r["ip_cidr"] = pick(2) ? "10.0.0.0/8" : "fd7a::/16"; break;
        case 3: r["domain_suffix"] = "test"; r["port"] = 443; break;
        default: r["ip_is_private"] = true; break;
      }
      if (pick(4) == 0) r["network"] = "udp";
      if (pick(6) == 0) r = Json{{"action", "route-options"}, {"override_port", 443}};
      Json w = r;
      std::string tag = "o";
      tag.push_back(static_cast<char>('0' + i % 3));
      r["outbound"] = tag;
      w["invert"] = true;  // !(!(x)) through a logical rule keeps the meaning but defeats the index
      wrapped.push_back({{"type", "logical"}, {"mode", "and"}, {"rules", Json::array({Json{{"type", "logical"}, {"mode", "or"}, {"rules", Json::array({w})}, {"invert", true}}})}});
      if (r.contains("action")) {
        wrapped.back() = r;  // no conditions: never indexed anyway (and an empty inverted rule matches all)
      } else {
        wrapped.back()["outbound"] = r["outbound"];
      }
      rules.push_back(r);
    }
    Json outs = Json::array({{{"type", "direct"}, {"tag", "o0"}}, {{"type", "direct"}, {"tag", "o1"}}, {{"type", "direct"}, {"tag", "o2"}}});
    auto c1 = compile_config({{"outbounds", outs}, {"route", {{"rules", rules}}}});
    auto c2 = compile_config({{"outbounds", outs}, {"route", {{"rules", wrapped}}}});
    ASSERT_TRUE(c1->ok() && c2->ok()) << rules.dump();
    Router r1(c1), r2(c2);
    EXPECT_LT(r1.unindexed_rules(), r2.unindexed_rules());
    for (const char* h : hosts) {
      for (uint16_t port : {80, 443}) {
        Request q;
        q.destination_host = h;
        q.destination_port = port;
        q.network = pick(2) ? "tcp" : "udp";
        Decision a = r1.decide(q), b = r2.decide(q);
        EXPECT_EQ(a.rule_index, b.rule_index) << h << ":" << port << " " << rules.dump();
        EXPECT_EQ(a.outbound, b.outbound);
      }
    }
  }
}

TEST(Tailnet, StatusRecordToRuleSets) {
  std::string line = tb::test::read_fixture("route/status-running.jsonl");
  auto t = tailnet_from_status(Json::parse(line));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->peers.size(), 2u);
  auto table = magic_dns_table(*t);
  EXPECT_EQ(table.count("nas"), 1u);
  EXPECT_EQ(table.count("nas.tail1234.ts.net"), 1u);
  EXPECT_EQ(table.count("myhost"), 1u);
  // Control's DNS records join the table as tailscaled's resolver takes them: A, AAAA or untyped
  // with an IP value; a node's name is never overridden by one.
  Json rec = Json::parse(line);
  rec["magic_dns"]["extra_records"] = Json::array({
      Json{{"name", "DB.tail1234.ts.net."}, {"type", "A"}, {"value", "100.64.0.9"}},
      Json{{"name", "db.tail1234.ts.net"}, {"type", "AAAA"}, {"value", "fd7a:115c:a1e0::9"}},
      Json{{"name", "svc.corp.example"}, {"type", ""}, {"value", "100.64.0.10"}},
      Json{{"name", "txt.tail1234.ts.net"}, {"type", "TXT"}, {"value", "hello"}},
      Json{{"name", "bad.tail1234.ts.net"}, {"type", "A"}, {"value", "not-an-ip"}},
      Json{{"name", "nas"}, {"type", "A"}, {"value", "100.64.0.11"}}});
  auto tr = tailnet_from_status(rec);
  ASSERT_TRUE(tr);
  auto with_records = magic_dns_table(*tr);
  ASSERT_EQ(with_records.count("db.tail1234.ts.net"), 1u);
  EXPECT_EQ(with_records["db.tail1234.ts.net"].size(), 2u);
  EXPECT_EQ(with_records["db.tail1234.ts.net"][0].str(), "100.64.0.9");
  EXPECT_EQ(with_records.count("svc.corp.example"), 1u);
  EXPECT_EQ(with_records.count("txt.tail1234.ts.net"), 0u);
  EXPECT_EQ(with_records.count("bad.tail1234.ts.net"), 0u);
  EXPECT_EQ(with_records["nas"], table["nas"]);
  auto parsed = parse_config_text(tb::test::read_fixture("route/tailnet-config.json"), "tailnet-config.json");
  ASSERT_TRUE(parsed);
  auto cfg = compile_config(*parsed);
  ASSERT_TRUE(cfg->ok());
  Router router(cfg, *t);
  auto decide = [&](const char* host, uint16_t port) {
    Request q;
    q.inbound = "mixed-in";
    q.destination_host = host;
    q.destination_port = port;
    return router.decide(q);
  };
  EXPECT_EQ(decide("nas", 445).outbound, "ts-ep");
  EXPECT_EQ(decide("NAS.tail1234.ts.net", 445).outbound, "ts-ep");
  EXPECT_EQ(decide("unknown.tail1234.ts.net", 80).outbound, "ts-ep");  // the MagicDNS suffix
  EXPECT_EQ(decide("fd7a:115c:a1e0::2", 22).outbound, "ts-ep");
  EXPECT_EQ(decide("192.168.1.20", 80).outbound, "ts-ep");  // accepted subnet route
  EXPECT_EQ(decide("192.168.2.20", 80).outbound, "direct");
  EXPECT_EQ(decide("8.8.8.8", 53).outbound, "proxy");  // the exit node's default route is not a subnet route
  // Unreachable daemon: the tailnet sets are empty, the rest still works.
  auto down = tailnet_from_status(Json::parse(tb::test::read_fixture("route/status-unreachable.jsonl")));
  ASSERT_TRUE(down);
  Router r2 = router.with_tailnet(*down);
  Request q;
  q.destination_host = "nas";
  q.destination_port = 445;
  EXPECT_EQ(r2.decide(q).outbound, "proxy");
  q.destination_host = "10.0.0.1";
  EXPECT_EQ(r2.decide(q).outbound, "direct");
  EXPECT_FALSE(tailnet_from_status(Json::parse(R"({"v":1,"type":"event"})")));
}

TEST(Router, EndpointSelfAddressGoesToLoopback) {
  auto cfg = compile_config(Json::parse(R"({"endpoints":[{"type":"tailscale","tag":"ts-ep"}],
    "outbounds":[{"type":"direct","tag":"direct"},{"type":"block","tag":"b"}],
    "route":{"rules":[{"ip_cidr":"127.0.0.0/8","outbound":"direct"}],"final":"b"}})"));
  ASSERT_TRUE(cfg->ok());
  auto t = tailnet_from_status(Json::parse(tb::test::read_fixture("route/status-running.jsonl")));
  Router router(cfg, *t);
  Request q;
  q.inbound = "ts-ep";
  q.destination_host = "100.101.1.1";
  q.destination_port = 8080;
  Decision d = router.decide(q);
  EXPECT_EQ(d.outbound, "direct");
  EXPECT_EQ(d.destination, "127.0.0.1");
  q.inbound = "mixed-in";
  EXPECT_EQ(router.decide(q).outbound, "b");
}

class FakeOwner : public ProcessSearcher {
 public:
  mutable int calls = 0;
  std::optional<ProcessInfo> find(const std::string&, const IpAddr&, uint16_t, const std::optional<IpAddr>&,
                                   uint16_t) const override {
    ++calls;
    return ProcessInfo{"curl", "/usr/bin/curl", "alice", 1000};
  }
};

TEST(Router, ProcessRulesAskTheSearcherOnce) {
  auto cfg = compile_config(Json::parse(R"({"outbounds":[{"type":"direct","tag":"d"},{"type":"block","tag":"b"}],
    "route":{"rules":[{"user":"bob","outbound":"b"},{"user_id":1000,"process_path":"/usr/bin/curl","outbound":"b"}],"final":"d"}})"));
  ASSERT_TRUE(cfg->ok());
  Router router(cfg);
  FakeOwner owner;
  router.set_process_searcher(&owner);
  Request q;
  q.source_ip = ip("127.0.0.1");
  q.source_port = 40000;
  q.destination_host = "x.test";
  q.destination_port = 80;
  Decision d = router.decide(q, Router::Options{.matched_items = true});
  EXPECT_EQ(d.rule_index, 1u);
  EXPECT_EQ(owner.calls, 1);
  EXPECT_EQ(d.matched_items, (std::vector<MatchedItem>{{"process_path", "\"/usr/bin/curl\""}, {"user_id", "1000"}}));
}

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

TEST(Format, CanonicalAndIdempotent) {
  Json in = Json::parse(R"({"route":{"rules":[{"domain":["a"],"invert":false,"port":0}]},"log":{"level":""},"inbounds":[]})");
  Json out = format_config(in);
  EXPECT_EQ(out.dump(), R"({"route":{"rules":[{"domain":"a"}]}})");
  EXPECT_EQ(format_config(out), out);
}

TEST(Records, RequestParsing) {
  EXPECT_TRUE(request_from_json(Json::parse(R"({"destination":"a.test:443"})")));
  EXPECT_TRUE(request_from_json(Json::parse(R"({"destination":{"host":"::1","port":1},"source":"[::1]:2"})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"({"destination":"a.test"})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"({"destination":"a.test:1","source":{"ip":"nope"}})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"({"destination":"a.test:1","network":"sctp"})")));
  EXPECT_FALSE(request_from_json(Json::parse(R"([1])")));
}

}  // namespace
}  // namespace tb::route
