// `sb-route explain HOST:PORT`: one connection → its outbound, the matched rule and the items
// that matched (config syntax), or that it fell through to the default outbound.

#include <iostream>

#include "cmd/sb-route/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/strings.hpp"
#include "libcommon/route/dns_settings.hpp"
#include "libcommon/route/records.hpp"
#include "libcommon/route/router.hpp"

namespace tb::cmd::sb_route {

using tb::core::ExitCode;
using tb::core::to_int;
using namespace tb::route;

namespace {

std::optional<Request> make_request(const ExplainArgs& a, const RouteConfig& config) {
  Request r;
  auto dst = split_host_port(a.destination);
  if (!dst) {
    tb::core::print_error_line("sb-route", "destination \"" + a.destination + "\": expected HOST:PORT or [IPv6]:PORT");
    return std::nullopt;
  }
  r.destination_host = dst->first;
  r.destination_port = dst->second;
  r.inbound = a.inbound;
  if (r.inbound.empty() && !config.inbounds.empty()) r.inbound = config.inbounds[0].tag;
  r.network = a.network;
  if (r.network != "tcp" && r.network != "udp" && r.network != "icmp") {
    tb::core::print_error_line("sb-route", "--network \"" + r.network + "\": expected tcp, udp or icmp");
    return std::nullopt;
  }
  r.user = a.user;
  if (!a.source.empty()) {
    auto src = split_host_port(a.source);
    std::optional<IpAddr> ip = src ? IpAddr::parse(src->first) : IpAddr::parse(a.source);
    if (!ip) {
      tb::core::print_error_line("sb-route", "--source \"" + a.source + "\": expected IP or IP:PORT");
      return std::nullopt;
    }
    r.source_ip = ip;
    r.source_port = src ? src->second : 0;
  }
  if (!a.sniff_protocol.empty() || !a.sniff_domain.empty())
    r.sniff = SniffResult{a.sniff_protocol, a.sniff_domain, ""};
  if (!a.process_name.empty() || !a.process_path.empty() || !a.process_user.empty() || a.process_uid >= 0) {
    ProcessInfo p{a.process_name, a.process_path, a.process_user, a.process_uid};
    if (p.name.empty() && !p.path.empty()) p.name = p.path.substr(p.path.rfind('/') + 1);
    r.process = p;
  }
  return r;
}

}  // namespace

int run_explain(const CommonArgs& common, const ExplainArgs& args) {
  auto loaded = load_or_report(common, true);
  if (!loaded) return to_int(ExitCode::kConfig);
  auto req = make_request(args, *loaded->config);
  if (!req) return to_int(ExitCode::kUsage);
  int rc = 0;
  auto routing = make_router(*loaded, args.dns, args.status_file, !req->process, &rc);
  if (!routing) return rc;
  Decision d = routing->router.decide(*req, {true});
  if (args.json) {
    tb::core::emit_record(decision_to_json(d, *req));
    return to_int(ExitCode::kOk);
  }
  std::string out = req->destination_host + ":" + std::to_string(req->destination_port) + " (" + req->network +
                    (req->inbound.empty() ? "" : " from " + req->inbound) + ")\n";
  for (const auto& s : d.steps) out += "  rule " + std::to_string(s.rule_index) + " => " + s.action + " (continues)\n";
  if (!d.error.empty()) out += "  error: " + d.error + "\n";
  if (d.rule_index) {
    out += "  matched rule " + std::to_string(*d.rule_index) + " (" + loaded->config->rules[*d.rule_index].path +
           "): " + (d.rule.empty() ? "(no conditions)" : d.rule) + " => " + d.action_text + "\n";
    for (const auto& m : d.matched_items) out += "    " + matched_item_text(m) + "\n";
  } else {
    out += "  no rule matched: fell through to " +
           std::string(loaded->config->final_from == "final"            ? "route.final"
                       : loaded->config->final_from == "first_outbound" ? "the first outbound"
                                                                        : "the implicit direct outbound") +
           "\n";
  }
  if (d.destination != req->destination_host || d.destination_port != req->destination_port)
    out += "  destination rewritten to " + d.destination + ":" + std::to_string(d.destination_port) + "\n";
  // With dns.servers: the server sb-relay asks for a name it dials (docs/singbox.md, "DNS").
  if (const auto& dns = loaded->config->dns; dns && d.action == ActionType::kRoute && !tb::route::IpAddr::parse(d.destination)) {
    tb::route::MatchContext c;
    std::string name = tb::core::without_trailing_dot(d.destination);
    c.domain = name;
    c.inbound = req->inbound;
    c.network = req->network;
    c.sets = &routing->router.rule_sets();
    const Action* resolve = nullptr;  // a resolve action's lookup is the one whose addresses are dialled
    for (const auto& step : d.steps)
      if (const auto& a = loaded->config->rules[step.rule_index].action; a.type == ActionType::kResolve) resolve = &a;
    out += "  dns: " + (resolve ? describe_dns_resolve(*dns, c, resolve->server) : describe_dns_choice(*dns, c, d.outbound)) + "\n";
  }
  std::string verdict = d.action == ActionType::kRoute ? "outbound " + d.outbound
                        : d.action == ActionType::kReject ? "reject (" + d.reject_method + ")"
                                                          : std::string(action_name(d.action));
  out += "  => " + verdict + "\n";
  tb::core::write_stdout(out);
  return to_int(ExitCode::kOk);
}

}  // namespace tb::cmd::sb_route
