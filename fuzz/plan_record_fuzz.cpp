// sb-relay's plan reader: each stdin line through tb::net::plan_from_line (libcommon/net/plan.cpp),
// i.e. JSON → v1 plan record → compile the embedded config → outbounds, inbounds, tailnet from the
// embedded status → Router. A plan that loads then answers one connection, as a session would.
// Invariant: lines that are not plan records are ignored or refused with an error, never a crash.
// Local rule-set paths in the embedded config are pointed at a missing file (see config_fuzz.hpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/config_fuzz.hpp"
#include "fuzz/fuzz_check.hpp"
#include "libcommon/net/plan.hpp"
#include "libcommon/route/router.hpp"

namespace {

std::string safe_line(std::string line) {
  auto j = tb::core::parse_or_discarded(line);
  if (j.is_discarded() || !j.is_object()) return line;
  auto src = j.find("source");
  if (src == j.end() || !src->is_object()) return line;
  tb::core::Json before = *src;
  tb::fuzz::neutralise_rule_set_paths(*src);
  return *src == before ? line : tb::core::dump_line(j);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= all.size()) {
    size_t nl = all.find('\n', start);
    std::string line(all.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    auto p = tb::net::plan_from_line(safe_line(std::move(line)));
    if (!p) {
      FUZZ_CHECK(!p.error().message.empty());
    } else if (*p) {
      const auto& plan = **p;
      FUZZ_CHECK(plan->router != nullptr);
      tb::route::Request req;
      req.inbound = plan->inbounds.empty() ? "mixed-in" : plan->inbounds.front().tag;
      req.destination_host = "peer.example.ts.net";
      req.destination_port = 443;
      auto d = plan->router->decide(req, {.describe = true, .matched_items = true});
      (void)d;
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
