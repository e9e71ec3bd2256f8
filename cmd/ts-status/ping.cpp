// `ts-status ping PEER`: the Local API ping (POST /localapi/v0/ping, as `tailscale ping` sends it,
// cmd/tailscale/cli/ping.go), with the latency and the path of each pong: direct with its
// endpoint, DERP with its region, or a peer relay. One line (or v1 `ping` record) per attempt.
// Exit: 0 a pong (with --until-direct: a direct one), 1 not running / no reply / never direct,
// 65 no such peer, and the usual Local API codes.

#include <cstdio>
#include <variant>

#include "cmd/ts-status/probe_commands.hpp"
#include "libcommon/core/cli.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;
using core::to_int;

const ts::PeerStatus* find_peer(const ts::Status& s, const std::string& arg) {
  std::string want = core::lower(core::without_trailing_dot(arg));
  for (const auto& p : s.peers) {
    for (const auto& ip : p.tailscale_ips)
      if (ip == arg) return &p;
    std::string fqdn = core::lower(core::without_trailing_dot(p.dns_name));
    if (want == fqdn || want == core::lower(ts::display_name(p, s.magic_dns_suffix)) || want == core::lower(p.host_name) ||
        (!fqdn.empty() && want == fqdn.substr(0, fqdn.find('.'))))
      return &p;
  }
  return nullptr;
}

std::string first_ipv4(const ts::PeerStatus& p) {
  for (const auto& ip : p.tailscale_ips)
    if (ip.find(':') == std::string::npos) return ip;
  return p.tailscale_ips.empty() ? "" : p.tailscale_ips.front();
}

namespace {

std::string ms(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fms", seconds * 1000);
  return buf;
}

// "pong from NAME (IP) via PATH in 12.3ms", as tailscale ping words it.
std::string pong_text(const ts::PingResult& r, const std::string& type) {
  std::string via = r.endpoint;
  if (!r.peer_relay.empty()) via = "peer-relay(" + r.peer_relay + ")";
  else if (r.derp_region_id != 0) via = "DERP(" + r.derp_region_code + ")";
  if (via.empty()) via = type;
  return "pong from " + r.node_name + " (" + r.node_ip + ") via " + via + " in " + ms(r.latency_seconds) + "\n";
}

// An IPv4 dotted quad, or text of hex digits, ':' and '.' with a ':' (IPv6); the daemon checks it.
bool looks_like_ip(const std::string& s) {
  if (s.find(':') != std::string::npos)
    return s.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos;
  int parts = 0, value = -1;
  for (char c : s + ".") {
    if (c == '.') {
      if (value < 0 || value > 255) return false;
      ++parts;
      value = -1;
    } else if (c >= '0' && c <= '9') {
      value = (value < 0 ? 0 : value * 10) + (c - '0');
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return parts == 4;
}

struct Target {
  std::string name, ip;
};

// The peer's name and the address to ping; an exit code when there is none.
std::variant<Target, int> target_of(Client& client, const std::string& arg) {
  auto st = client->status(true);
  if (!st) return report(st.error());
  if (st->backend_state != ts::BackendState::kRunning && st->backend_state != ts::BackendState::kStarting) {
    core::print_error_line("ts-status", "not running (state: " + ts::record_state(*st) + "): nothing to ping");
    return to_int(ExitCode::kFalse);
  }
  if (const ts::PeerStatus* p = find_peer(*st, arg)) {
    if (p->tailscale_ips.empty()) return report({ExitCode::kDataErr, "peer " + arg + " has no tailnet address", {}});
    return Target{ts::display_name(*p, st->magic_dns_suffix), first_ipv4(*p)};
  }
  if (looks_like_ip(arg)) return Target{arg, arg};  // a subnet address behind a router
  return report({ExitCode::kDataErr, "no peer named \"" + arg + "\" in the tailnet", "ts-status lists them"});
}

Json ping_record(const Target& t, int seq, const ts::PingResult& r) {
  Json j;
  j["v"] = ts::kSchemaVersion;
  j["type"] = "ping";
  j["seq"] = seq;
  j["peer"] = t.name;
  j["ip"] = t.ip;
  j["node_ip"] = r.node_ip.empty() ? Json(nullptr) : Json(r.node_ip);
  j.update(ts::ping_json(r));
  return j;
}

}  // namespace

CLI::App* add_ping_command(CLI::App& app, PingArgs& args) {
  auto* cmd = app.add_subcommand("ping", "Ping a peer through tailscaled: latency and path (direct, DERP, peer relay)");
  cmd->fallthrough();
  cmd->add_option("peer", args.peer, "The peer: name, FQDN, host name or IP")->required()->type_name("PEER");
  cmd->add_option("-c,--count", args.count, "Pings to send (default 10; 0: until interrupted)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  tb::core::add_duration_option(cmd, "--interval", args.interval, "Between two pings (default 1s)");
  tb::core::add_duration_option(cmd, "--timeout", args.timeout, "Wait this long for each pong (default 5s)");
  cmd->add_option("--type", args.type, "disco (the path WireGuard uses), TSMP or ICMP (through WireGuard)")
      ->check(CLI::IsMember({"disco", "TSMP", "ICMP"}));
  cmd->add_flag("--until-direct", args.until_direct, "Stop at the first direct pong; exit 1 if none was direct");
  cmd->add_flag("--json", args.json, "One v1 ping record per attempt");
  return cmd;
}

int run_ping(const CommonArgs& common, const PingArgs& args) {
  Client client(common);
  auto target = target_of(client, args.peer);
  if (std::holds_alternative<int>(target)) return std::get<int>(target);
  const Target& t = std::get<Target>(target);
  bool any_pong = false, direct = false;
  for (int seq = 1; args.count == 0 || seq <= args.count; ++seq) {
    if (seq > 1 && !core::sleep_for(args.interval)) return to_int(ExitCode::kInterrupted);
    auto r = client->ping(t.ip, args.type, args.timeout);
    if (!r) {
      if (r.error().code != ExitCode::kTimeout) return report(r.error());
      r = ts::PingResult{};  // no reply within --timeout: this attempt failed, the next may not
      r->ip = t.ip;
      r->err = "timeout";
    }
    if (r->is_local_ip) return report({ExitCode::kDataErr, t.ip + " is this node's own address", {}});
    if (args.json) core::emit_record(ping_record(t, seq, *r));
    else if (!r->err.empty()) core::write_stdout("ping " + t.ip + " (" + t.name + "): " + r->err + "\n");
    else core::write_stdout(pong_text(*r, args.type));
    any_pong = any_pong || r->err.empty();
    direct = ts::ping_path(*r) == "direct";
    if (args.until_direct && direct) return 0;
  }
  if (!any_pong) {
    core::print_error_line("ts-status", "no reply from " + t.name + " (" + t.ip + ")");
    return to_int(ExitCode::kFalse);
  }
  if (args.until_direct) {
    core::print_error_line("ts-status", "direct connection to " + t.name + " not established");
    return to_int(ExitCode::kFalse);
  }
  return 0;
}

}  // namespace tb::cmd
