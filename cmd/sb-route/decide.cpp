// `sb-route decide`: JSON Lines requests on stdin → one decision record per request on stdout.
// `status` records in the stream update the tailnet; other record types are ignored.

#include <iostream>

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/route/records.hpp"
#include "libcommon/route/router.hpp"

namespace tb::cmd::sb_route {

using tb::core::Json;
using namespace tb::route;

namespace {

// One line of the stream: a request → its decision record (with the request's "id", if any); a
// status record → the tailnet from now on; other record types are ignored.
tb::core::Result<void> handle_line(Router& router, const Json& j) {
  if (j.contains("type") && j["type"].is_string() && j["type"] != "request") {
    if (j["type"] == "status") {
      if (auto t = tailnet_from_status(j)) router = router.with_tailnet(std::move(*t));
    }
    return {};
  }
  auto req = request_from_json(j);
  if (!req) return tl::unexpected(req.error());
  Json out = decision_to_json(router.decide(*req, {true}), *req);
  if (j.contains("id")) {
    Json with_id;
    with_id["v"] = 1;
    with_id["type"] = "decision";
    with_id["id"] = j["id"];
    for (auto it = out.begin(); it != out.end(); ++it)
      if (it.key() != "v" && it.key() != "type") with_id[it.key()] = it.value();
    out = std::move(with_id);
  }
  tb::core::emit_record(out);
  return {};
}

}  // namespace

int run_decide(const CommonArgs& common, const DecideArgs& args) {
  using tb::core::ExitCode;
  using tb::core::to_int;
  auto loaded = load_or_report(common, true);
  if (!loaded) return to_int(ExitCode::kConfig);
  int rc = 0;
  auto routing = make_router(*loaded, args.dns, args.status_file, args.find_process, &rc);
  if (!routing) return rc;
  bool ok = read_json_lines(std::cin, [&](const Json& j) { return handle_line(routing->router, j); });
  if (tb::core::interrupted()) return to_int(ExitCode::kInterrupted);
  return to_int(ok ? ExitCode::kOk : ExitCode::kDataErr);
}

}  // namespace tb::cmd::sb_route
