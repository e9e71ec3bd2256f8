// Route engine benchmarks: decisions per second on one thread for configs of 100, 10k and 100k
// rules of each kind (domain, domain_suffix, ip_cidr, mixed), and the time and memory to compile
// a plan (config JSON → RouteConfig → Router with its index).
//   build-route/bench/route_bench --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "libcommon/core/json.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/router.hpp"

namespace {

using tb::core::Json;
using namespace tb::route;

enum Kind { kDomain, kSuffix, kCidr, kMixed };

std::string cidr_for(int i) {
  return std::to_string(10 + i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256) + ".0/24";
}
std::string ip_in(int i) {
  return std::to_string(10 + i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256) + ".7";
}

Json rule_json(Kind kind, int i) {
  Kind k = kind == kMixed ? static_cast<Kind>(i % 3) : kind;
  Json r;
  switch (k) {
    case kDomain: r["domain"] = "host" + std::to_string(i) + ".example.com"; break;
    case kSuffix: r["domain_suffix"] = "site" + std::to_string(i) + ".test"; break;
    default: r["ip_cidr"] = cidr_for(i); break;
  }
  if (kind == kMixed && i % 7 == 0) r["port"] = 443;
  r["outbound"] = i % 2 ? "proxy" : "direct";
  return r;
}

Json make_config(Kind kind, int n) {
  Json c;
  c["outbounds"] = Json::array({{{"type", "direct"}, {"tag", "direct"}},
                                {{"type", "socks"}, {"tag", "proxy"}, {"server", "127.0.0.1"}, {"server_port", 1080}}});
  Json rules = Json::array();
  for (int i = 0; i < n; ++i) rules.push_back(rule_json(kind, i));
  c["route"]["rules"] = std::move(rules);
  c["route"]["final"] = "direct";
  return c;
}

Request request_for(Kind kind, int i) {
  Kind k = kind == kMixed ? static_cast<Kind>(i % 3) : kind;
  Request r;
  r.inbound = "mixed-in";
  r.source_ip = IpAddr::parse("127.0.0.1");
  r.source_port = 50000;
  r.destination_port = 443;
  switch (k) {
    case kDomain: r.destination_host = "host" + std::to_string(i) + ".example.com"; break;
    case kSuffix: r.destination_host = "www.site" + std::to_string(i) + ".test"; break;
    default: r.destination_host = ip_in(i); break;
  }
  return r;
}

void decide(benchmark::State& state, Kind kind) {
  int n = static_cast<int>(state.range(0));
  auto config = compile_config(make_config(kind, n));
  if (!config->ok()) {
    state.SkipWithError("config refused");
    return;
  }
  Router router(config);
  std::mt19937 rng(42);
  std::vector<Request> reqs;
  for (int i = 0; i < 4096; ++i) {
    int pick = static_cast<int>(rng() % static_cast<unsigned>(n));
    Request r = request_for(kind, pick);
    if (i % 8 == 7) r.destination_host = kind == kCidr ? "192.0.2.1" : "miss.nowhere.invalid";  // falls through
    reqs.push_back(std::move(r));
  }
  size_t i = 0, matched = 0;
  for (auto _ : state) {
    Decision d = router.decide(reqs[i++ & 4095]);
    matched += d.rule_index.has_value();
    benchmark::DoNotOptimize(d);
  }
  state.counters["decisions/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["matched"] = static_cast<double>(matched) / static_cast<double>(state.iterations());
  state.counters["unindexed"] = static_cast<double>(router.unindexed_rules());
}

void compile(benchmark::State& state, Kind kind) {
  int n = static_cast<int>(state.range(0));
  Json json = make_config(kind, n);
  size_t before = 0, bytes = 0;
  std::shared_ptr<RouteConfig> config;
  std::optional<Router> router;
  for (auto _ : state) {
    state.PauseTiming();
    // Neither copying the document (compile_config takes it) nor freeing the previous plan is
    // compiling: both happen outside the timed region.
    router.reset();
    config.reset();
    before = mallinfo2().uordblks;
    Json copy = json;
    state.ResumeTiming();
    config = compile_config(std::move(copy));
    router.emplace(config);
    benchmark::DoNotOptimize(*router);
    state.PauseTiming();
    bytes = mallinfo2().uordblks - before;  // the plan, including the document it keeps
    state.ResumeTiming();
  }
  state.counters["plan_MiB"] = static_cast<double>(bytes) / (1024.0 * 1024.0);
  state.counters["rules"] = n;
}

}  // namespace

BENCHMARK_CAPTURE(decide, domain, kDomain)->Arg(100)->Arg(10000)->Arg(100000);
BENCHMARK_CAPTURE(decide, domain_suffix, kSuffix)->Arg(100)->Arg(10000)->Arg(100000);
BENCHMARK_CAPTURE(decide, ip_cidr, kCidr)->Arg(100)->Arg(10000)->Arg(100000);
BENCHMARK_CAPTURE(decide, mixed, kMixed)->Arg(100)->Arg(10000)->Arg(100000);
BENCHMARK_CAPTURE(compile, domain, kDomain)->Arg(100)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(compile, ip_cidr, kCidr)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(compile, mixed, kMixed)->Arg(100)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
