// sb-route plan's status reader: the bytes as its stdin, through the JSON Lines reader
// (libcommon/core/json_lines.hpp) and the same per-record steps as run_plan (cmd/sb-route/plan.cpp):
// status record → TailnetState → Router::with_tailnet → plan record. The router is compiled once
// from the embedded default config (the one `make run` uses), which reads every tailnet set.
// Invariants: a plan record is a v1 "plan" that sb-relay's plan reader would take (its "source"
// added back, as run_plan does) and that dumps as JSON.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/core/json_lines.hpp"
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
  tb::core::JsonLinesReader reader(in, [](size_t, const tb::core::Error& e) { FUZZ_CHECK(!e.message.empty()); });
  while (auto record = reader.next()) {
    const Json& j = record->value;
    if (!j.contains("type") || j["type"] != "status") continue;
    auto t = tb::route::tailnet_from_status(j);
    if (!t) {
      FUZZ_CHECK(!t.error().message.empty());
      continue;
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
  }
  return 0;
}
