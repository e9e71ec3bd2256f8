// `ts-status wait --for CONDITION [--for …]`: block until every condition holds (exit 0) or the
// timeout passes (exit 75). Follows the IPN bus (StatusFollower), so it returns the moment the
// state changes; a timer re-reads the status as a safety net (every 5 s; 1 s while a direct: or
// dns: condition is pending, since path and resolver changes need not come with a Notify).
// An unreachable daemon is not fatal here: `tailscaled & ts-status wait --for running` works.
// A dns: condition the daemon refuses to answer (403: dns-query needs write access; an older
// daemon without dns-query) ends the wait at once with that error (77, 76).

#include "cmd/ts-status/follower.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/strings.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/dns_query.hpp"

namespace tb::cmd {

using core::Json;

namespace {
struct Condition {
  enum class Kind { kRunning, kIp, kPeerOnline, kDirect, kExitNodeOnline, kDns } kind;
  std::string arg;   // NAME
  std::string text;  // as given
};

std::optional<Condition> parse_condition(const std::string& c) {
  using K = Condition::Kind;
  if (c == "running") return Condition{K::kRunning, "", c};
  if (c == "ip") return Condition{K::kIp, "", c};
  if (c == "exit-node-online") return Condition{K::kExitNodeOnline, "", c};
  for (auto [prefix, kind] : {std::pair{"peer-online:", K::kPeerOnline}, std::pair{"peer:", K::kPeerOnline},
                              std::pair{"direct:", K::kDirect}, std::pair{"dns:", K::kDns}}) {
    std::string p = prefix;
    if (c.rfind(p, 0) == 0 && c.size() > p.size()) return Condition{kind, c.substr(p.size()), c};
  }
  return std::nullopt;
}

// The peer a NAME means: short name, FQDN (with or without its dot), host name or IP; names
// compared case-insensitively, as ping's.
const Json* find_peer(const Json& rec, std::string want) {
  if (!want.empty() && want.back() == '.') want.pop_back();
  want = core::lower(want);
  for (const auto& p : rec["peers"]) {
    bool match = core::lower(p.value("name", "")) == want || core::lower(p.value("dns_name", "")) == want ||
                 core::lower(p.value("host_name", "")) == want;
    for (const auto& ip : p["ips"]) match = match || ip.get<std::string>() == want;
    if (match) return &p;
  }
  return nullptr;
}

class Waiter {
 public:
  explicit Waiter(const CommonArgs& common) : common_(common) {}

  // Whether `c` holds in `rec`; an error only for a dns: condition the daemon will never answer.
  core::Result<bool> holds(const Condition& c, const Json& rec) {
    using K = Condition::Kind;
    bool running = rec.value("state", "") == "running";
    if (c.kind == K::kRunning) return running;
    if (!running) return false;
    if (c.kind == K::kIp) return rec["self"].is_object() && !rec["self"]["ips"].empty();
    if (c.kind == K::kExitNodeOnline) return rec["exit_node"].is_object() && rec["exit_node"].value("online", false);
    if (c.kind == K::kDns) return resolves(c.arg);
    const Json* p = find_peer(rec, c.arg);
    if (!p || !p->value("online", false)) return false;
    return c.kind == K::kPeerOnline || p->value("path", "") == "direct";
  }

 private:
  core::Result<bool> resolves(const std::string& name) {
    if (!client_) {
      ts::ClientOptions opts;
      opts.timeout = common_.timeout;
      opts.connect_retry = std::chrono::milliseconds(0);
      client_ = ts::connect_local_api(common_.socket, opts);
    }
    auto addrs = ts::resolve_via_daemon(*client_, name);
    if (!addrs) {
      auto code = addrs.error().code;
      if (code == core::ExitCode::kNoPerm || code == core::ExitCode::kProtocol || code == core::ExitCode::kInterrupted)
        return tl::unexpected(addrs.error());
      return false;  // the daemon is away or slow: ask again on the next update
    }
    for (const auto& a : *addrs)
      if (ts::is_tailnet_address(a)) return true;
    return false;
  }

  const CommonArgs& common_;
  std::unique_ptr<ts::LocalApiClient> client_;
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}
}  // namespace

int run_wait(const CommonArgs& common, const WaitArgs& args) {
  std::vector<Condition> conds;
  bool fast = false;  // a condition that may change without a Notify
  for (const auto& text : args.conditions) {
    auto c = parse_condition(text);
    if (!c) {
      core::print_error_line("ts-status", "--for must be running, ip, peer-online:NAME, direct:NAME, exit-node-online or dns:NAME");
      return core::to_int(core::ExitCode::kUsage);
    }
    fast = fast || c->kind == Condition::Kind::kDirect || c->kind == Condition::Kind::kDns;
    conds.push_back(std::move(*c));
  }
  auto deadline = std::chrono::steady_clock::now() + args.timeout;
  StatusFollower follower(common, fast ? std::chrono::seconds(1) : std::chrono::seconds(5));
  Waiter waiter(common);
  std::string last_state = "unknown";
  std::vector<std::string> pending = args.conditions;
  for (;;) {
    auto u = follower.next(deadline);
    if (u.interrupted) return core::to_int(core::ExitCode::kInterrupted);
    if (!u.timed_out) {
      last_state = u.record.value("state", "unknown");
      pending.clear();
      for (const auto& c : conds) {
        auto ok = waiter.holds(c, u.record);
        if (!ok) return report(ok.error());
        if (!*ok) pending.push_back(c.text);
      }
      if (pending.empty()) {
        if (!args.quiet) core::print_error_line("ts-status", joined(args.conditions) + ": ok");
        return 0;
      }
    }
    if (u.timed_out || std::chrono::steady_clock::now() >= deadline) {
      return report(core::Error{core::ExitCode::kTimeout,
                                "timed out after " + core::format_duration(args.timeout.count() / 1000) +
                                    " waiting for " + joined(pending) + " (state: " + last_state + ")",
                                {}});
    }
  }
}

}  // namespace tb::cmd
