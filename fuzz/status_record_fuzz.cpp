// sb-route plan's status reader: the bytes as its stdin, through read_json_lines
// (cmd/sb-route/common.cpp) and the same per-record steps as run_plan (cmd/sb-route/plan.cpp):
// status record → TailnetState → Router::with_tailnet → plan record. The router is compiled once
// from the embedded default config (the one `make run` uses), which reads every tailnet set.
// Invariants: a plan record is a v1 "plan" that sb-relay's plan reader would take (its "source"
// added back, as run_plan does) and that dumps as JSON.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "cmd/sb-route/commands.hpp"
#include "fuzz/fuzz_check.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/route/default_config.hpp"
#include "libcommon/route/records.hpp"
#include "libcommon/route/router.hpp"
#include "libcommon/route/tailnet.hpp"

namespace {

struct Base {
  tb::route::LoadedConfig loaded = tb::route::default_config();
  tb::route::Router router{tb::route::compile_config(loaded.merged)};
};

const Base& base() {
  static const Base* b = new Base();  // never destroyed: no exit-time order issue with the fuzzer
  return *b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tb::core::Json;
  const Base& b = base();
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  tb::route::Router router = b.router.with_tailnet({});
  (void)tb::cmd::sb_route::read_json_lines(in, [&](const Json& j) -> tb::core::Result<void> {
    if (!j.contains("type") || j["type"] != "status") return {};
    auto t = tb::route::tailnet_from_status(j);
    if (!t) {
      FUZZ_CHECK(!t.error().message.empty());
      return tl::unexpected(t.error());
    }
    (void)tb::route::magic_dns_table(*t);
    router = router.with_tailnet(std::move(*t));
    Json plan = tb::route::plan_to_json(router, b.loaded.paths);
    FUZZ_CHECK(plan.is_object() && plan.value("v", 0) == 1 && plan.value("type", "") == "plan");
    plan["source"] = b.loaded.merged;
    plan["status"] = j;
    auto line = tb::core::dump_line(plan);
    FUZZ_CHECK(!line.empty() && line.find('\n') == std::string::npos);
    FUZZ_CHECK(tb::net::plan_from_record(plan).has_value());
    tb::route::Request req;
    req.destination_host = "peer.example.ts.net";
    req.destination_port = 443;
    (void)router.decide(req, {.describe = true, .matched_items = true});
    return {};
  });
  return 0;
}
