#pragma once
// v1 records of the route engine: requests read by `decide` (and route_cases.json connections),
// decisions, and plans. Every record starts with "v" and "type".

#include <string>

#include "libcommon/core/json.hpp"
#include "libcommon/route/request.hpp"
#include "libcommon/route/router.hpp"

namespace tb::route {

using tb::core::Json;
using tb::core::Result;

// {"inbound","network","source":{"ip","port"}|"ip:port","destination":{"host","port"}|"host:port",
//  "user","sniff_result":{"protocol","domain","client"},"endpoint_self_ips":[…],
//  "process":{"name","path","user","user_id"}}. Errors are ExitCode::kDataErr.
Result<Request> request_from_json(const Json& j);

// {"v":1,"type":"decision",...}
Json decision_to_json(const Decision& d, const Request& req);
std::string matched_item_text(const MatchedItem& m);  // "domain_suffix": "example.com"

// {"v":1,"type":"plan","generation":N,...}; `generation` is left out (0) so plans can be compared.
Json plan_to_json(const Router& r, const std::vector<std::string>& config_paths);

}  // namespace tb::route
