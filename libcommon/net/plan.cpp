#include "libcommon/net/plan.hpp"

#include "libcommon/core/json_lines.hpp"
#include "libcommon/route/config.hpp"
#include "libcommon/route/tailnet.hpp"

namespace tb::net {

namespace {
thread_local std::map<std::string, std::vector<tb::route::IpAddr>> t_prefetched;

class PrefetchResolver : public tb::route::Resolver {
 public:
  std::optional<std::vector<tb::route::IpAddr>> lookup(const std::string& name) const override {
    auto it = t_prefetched.find(name);
    if (it == t_prefetched.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
};
const PrefetchResolver g_prefetch;
}  // namespace

void prefetch_answer(const std::string& name, std::vector<tb::route::IpAddr> addrs) {
  t_prefetched[name] = std::move(addrs);
}
void clear_prefetched() { t_prefetched.clear(); }

using tb::core::ExitCode;
using tb::core::fail;
using tb::core::Json;

tb::core::Result<std::shared_ptr<const Plan>> plan_from_config(const Json& merged, const Json* status,
                                                               std::vector<std::string> paths) {
  auto config = tb::route::compile_config(merged);
  if (!config->ok()) {
    std::string msg;
    for (const auto& d : config->diagnostics)
      if (d.severity == tb::route::Severity::kError) msg += (msg.empty() ? "" : "; ") + d.line();
    return fail(ExitCode::kConfig, msg.empty() ? "config has errors" : msg);
  }
  tb::route::TailnetState tailnet;
  if (status && status->is_object()) {
    auto t = tb::route::tailnet_from_status(*status);
    if (!t) return tl::unexpected(t.error());
    tailnet = std::move(*t);
  }
  auto plan = std::make_shared<Plan>();
  plan->tun = tailnet.tun;
  if (tailnet.self) plan->self_ips = tailnet.self->ips;
  plan->magic_dns_suffix = tailnet.magic_dns_suffix;
  for (const auto& r : config->rules)
    if (r.action.type == tb::route::ActionType::kResolve) plan->has_resolve_action = true;
  // As sing-box's router.go: any rule-set with a process rule turns the search on, used or not.
  plan->needs_process = config->needs_process;
  for (const auto& set : config->rule_sets)
    for (const auto& r : set->rules) plan->needs_process = plan->needs_process || r.uses_process();
  plan->outbounds = outbounds_from_config(*config);
  plan->inbounds = inbounds_from_config(*config);
  auto router = std::make_shared<tb::route::Router>(config, std::move(tailnet));
  router->set_resolver(&g_prefetch);
  plan->router = std::move(router);
  plan->config_paths = std::move(paths);
  return std::shared_ptr<const Plan>(std::move(plan));
}

tb::core::Result<std::shared_ptr<const Plan>> plan_from_record(const Json& record) {
  if (!record.is_object() || record.value("type", Json()) != "plan" || record.value("v", Json()) != 1)
    return fail(ExitCode::kDataErr, "not a v1 plan record");
  auto src = record.find("source");
  if (src == record.end() || !src->is_object())
    return fail(ExitCode::kDataErr, "plan record has no \"source\" (sb-route too old?)");
  const Json* status = nullptr;
  if (auto st = record.find("status"); st != record.end() && st->is_object()) status = &*st;
  std::vector<std::string> paths;
  if (auto c = record.find("config"); c != record.end() && c->is_array())
    for (const auto& p : *c)
      if (p.is_string()) paths.push_back(p.get<std::string>());
  auto plan = plan_from_config(*src, status, std::move(paths));
  if (!plan) return fail(ExitCode::kDataErr, "plan: " + plan.error().message);
  auto g = record.find("generation");
  if (g != record.end() && g->is_number_unsigned()) {
    auto p = std::const_pointer_cast<Plan>(*plan);
    p->generation = g->get<uint64_t>();
  }
  return plan;
}

tb::core::Result<std::optional<std::shared_ptr<const Plan>>> plan_from_object(const Json& record) {
  using Out = std::optional<std::shared_ptr<const Plan>>;
  if (!record.contains("type") || record["type"] != "plan") return Out{};  // other records are not ours
  auto p = plan_from_record(record);
  if (!p) return tl::unexpected(p.error());
  return Out{*p};
}

tb::core::Result<std::optional<std::shared_ptr<const Plan>>> plan_from_line(std::string_view line) {
  auto j = tb::core::parse_json_line(line);
  if (!j) return std::optional<std::shared_ptr<const Plan>>{};  // blank
  if (!*j) return tl::unexpected(j->error());
  return plan_from_object(**j);
}

}  // namespace tb::net
