// `ts-auth up`: bring the node up the way `tailscale up` does (docs/localapi.md, "What tailscale up does"), but never
// hang, never leak the key, and never log the node out on a failure.
//
//   1. watch the IPN bus (mask 18: initial state, no private keys) and wait for its first line,
//      so nothing the daemon says after our writes can be missed;
//   2. GET status and prefs;
//   3. already Running with the same prefs → changed:false, no write at all;
//      Running with editable differences → one PATCH prefs (no new login);
//      otherwise check-prefs, start {AuthKey, UpdatePrefs}, and login-interactive when there is
//      no node key or with --force-reauth (with an auth key too: tailscaled only registers then);
//   4. follow the bus until Running (or, with --no-wait, until an auth URL / machine approval),
//      printing auth_url and state records as they happen; --timeout bounds everything.

#include <unistd.h>

#include <iostream>

#include <spdlog/spdlog.h>

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/term.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/bus_follower.hpp"
#include "libcommon/tailscale/records.hpp"
#include "libcommon/core/strings.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kMask = ts::notify_mask::kInitialState | ts::notify_mask::kNoPrivateKeys;  // 18

std::string admin_url(const std::string& control_url) {
  std::string u = normalise_control_url(control_url);
  if (u == "https://controlplane.tailscale.com") return "https://login.tailscale.com/admin/machines";
  return u + "/admin/machines";
}

bool has_node_key(const ts::Status& st) {
  if (st.have_node_key) return true;
  if (!st.self) return false;
  const std::string& k = st.self->public_key;
  return !k.empty() && k.find_first_not_of("0", k.rfind(':') == std::string::npos ? 0 : k.rfind(':') + 1) != std::string::npos;
}

// What `up` prints, in JSON lines or text for people. Records are written (and flushed) the
// moment they are made.
class Printer {
 public:
  Printer(const CommonArgs& common, const std::string& qr_mode) : json_(common.json) {
    qr_ = qr_mode == "always" || (qr_mode == "auto" && core::is_terminal(STDERR_FILENO));
  }

  void state(ts::BackendState s, const std::string& control_url) {
    if (last_state_ && *last_state_ == s) return;
    last_state_ = s;
    std::string name(ts::normalized_state(s));
    if (json_) {
      Json j = base_record("state");
      j["state"] = name;
      j["backend_state"] = std::string(ts::backend_state_name(s));
      if (s == ts::BackendState::kNeedsMachineAuth) j["admin_url"] = admin_url(control_url);
      core::emit_record(j);
    } else {
      std::string text = "state: " + std::string(ts::backend_state_name(s)) + "\n";
      if (s == ts::BackendState::kNeedsMachineAuth)
        text += "\nTo approve your machine, visit (as admin):\n\n\t" + admin_url(control_url) + "\n\n";
      core::write_stdout(text);
    }
  }

  // True if this URL was not printed before.
  bool auth_url(const std::string& url) {
    if (url.empty() || url == last_url_) return false;
    last_url_ = url;
    if (json_) {
      Json j = base_record("auth_url");
      j["url"] = url;
      core::emit_record(j);
    } else {
      core::write_stdout("\nTo authenticate, visit:\n\n\t" + url + "\n\n");
    }
    if (qr_) {
      std::string q = render_qr(url);
      if (!q.empty()) std::cerr << q << std::flush;
    }
    return true;
  }

  const std::string& url() const { return last_url_; }
  bool json() const { return json_; }

 private:
  bool json_;
  bool qr_ = false;
  std::optional<ts::BackendState> last_state_;
  std::string last_url_;
};

struct Outcome {
  bool changed = false;
  std::vector<std::string> changes;
  std::vector<IgnoredOption> ignored;
  std::string key_source;
};

Json final_record(const ts::Status& st, const Outcome& o, const std::string& url) {
  Json j = base_record("up");
  j["state"] = std::string(ts::normalized_state(st.backend_state));
  j["changed"] = o.changed;
  j["changes"] = o.changes;
  std::vector<std::string> ips = st.tailscale_ips;
  if (ips.empty() && st.self) ips = st.self->tailscale_ips;
  j["ips"] = ips;
  j["name"] = st.self ? tb::core::without_trailing_dot(st.self->dns_name) : "";
  j["host_name"] = st.self ? st.self->host_name : "";
  std::string auth = !st.auth_url.empty() ? st.auth_url : url;
  j["auth_url"] = st.backend_state == ts::BackendState::kNeedsLogin && !auth.empty() ? Json(auth) : Json(nullptr);
  j["auth_key_source"] = o.key_source.empty() ? Json(nullptr) : Json(o.key_source);
  Json ign = Json::array();
  for (const auto& i : o.ignored) ign.push_back(Json{{"option", i.option}, {"reason", i.reason}});
  j["ignored"] = ign;
  return j;
}

std::string final_text(const Json& rec) {
  std::string ips;
  for (const auto& ip : rec["ips"]) ips += (ips.empty() ? "" : ", ") + ip.get<std::string>();
  std::string who = rec["name"].get<std::string>();
  if (who.empty()) who = rec["host_name"].get<std::string>();
  std::string state = rec["state"].get<std::string>();
  if (state == "running" || state == "starting") {
    std::string head = rec["changed"].get<bool>() ? "Success." : "Already up; nothing changed.";
    return head + " " + who + (ips.empty() ? "" : " (" + ips + ")") + "\n";
  }
  if (state == "needs_login")
    return "Login pending. Once the URL has been visited, `ts-status wait --for running` returns.\n";
  if (state == "needs_machine_auth")
    return "Waiting for an admin to approve this machine; `ts-status wait --for running` returns once approved.\n";
  return "state: " + state + "\n";
}

// The checked inputs: settings from the config and the flags, the key, the options not applied.
struct Inputs {
  Settings settings;
  AuthKey key;
  Outcome out;
};

// Everything checked before the daemon is touched. The warnings are printed here.
core::Result<Inputs> read_inputs(UpArgs& args) {
  Inputs in;
  Settings config_settings;
  std::optional<SecretString> config_key;
  std::string config_source;
  if (!args.config.empty()) {
    auto cfg = load_endpoint_config(args.config, args.endpoint_tag);
    if (!cfg) return tl::unexpected(cfg.error());
    config_settings = std::move(cfg->settings);
    in.out.ignored = std::move(cfg->ignored);
    if (cfg->auth_key) config_key = std::move(cfg->auth_key);
    config_source = "config " + args.config + " (endpoint " + cfg->tag + ")";
  } else if (!args.endpoint_tag.empty()) {
    return core::fail(ExitCode::kUsage, "--endpoint needs -c/--config");
  }
  auto flags = normalise_settings(args.flags, ExitCode::kUsage, false);
  if (!flags) return tl::unexpected(flags.error());
  auto merged = normalise_settings(merge_settings(config_settings, *flags), ExitCode::kUsage, false);
  if (!merged) return tl::unexpected(merged.error());
  in.settings = std::move(*merged);

  KeySources src{args.auth_key_arg, args.auth_key_arg_given, args.auth_key_file, false};
  auto key = read_auth_key(src);
  wipe_string(args.auth_key_arg);
  if (!key) return tl::unexpected(key.error());
  in.key = std::move(*key);
  if (in.key.key.empty() && config_key) {
    if (auto v = validate_key(config_key->value(), config_source); !v) return tl::unexpected(v.error());
    in.key.key = std::move(*config_key);
    in.key.source = config_source;
  }
  in.out.key_source = in.key.source;
  if (in.key.source == "--auth-key")
    warn("an auth key given on the command line is visible to other users (ps, /proc/PID/cmdline) and in shell "
         "history; use --auth-key-file FILE, --auth-key - (stdin) or TS_AUTHKEY");
  for (auto& n : ephemeral_notes(in.settings, !in.key.key.empty())) in.out.ignored.push_back(n);
  for (const auto& i : in.out.ignored) warn(i.option + " is not applied in daemon-only mode: " + i.reason);
  return in;
}

// Steps 2 to 4 of the header, with their shared state. Each step returns an exit code to stop
// with, or nullopt to go on.
class Up {
 public:
  Up(const CommonArgs& common, const UpArgs& args, Inputs in)
      : common_(common), args_(args), s_(std::move(in.settings)), key_(std::move(in.key)), out_(std::move(in.out)),
        have_key_(!key_.key.empty()), deadline_(Clock::now() + args.wait_timeout), print_(common, args.qr) {}

  int run() {
    if (auto rc = watch_and_read()) return *rc;
    if (auto rc = write_changes()) return *rc;
    if (auto rc = follow_bus()) return *rc;
    if (auto rc = set_deferred_exit_node()) return *rc;
    auto fin = (*client_)->status(false);
    if (!fin) return report(common_, fin.error());
    Json rec = final_record(*fin, out_, print_.url());
    if (print_.json()) core::emit_record(rec);
    else core::write_stdout(final_text(rec));
    return 0;
  }

 private:
  // An error, unless SIGINT/SIGTERM is why the call failed.
  int fail(const core::Error& e) {
    if (core::interrupted()) return report(common_, {ExitCode::kInterrupted, "interrupted; nothing was undone or logged out", {}});
    return report(common_, e);
  }
  core::Error timed_out(std::string_view state) const {
    return {ExitCode::kTimeout,
            "timed out after " + core::format_duration(args_.wait_timeout.count() / 1000) +
                " waiting for tailscaled to reach Running (state: " + std::string(state) + ")",
            "tailscaled keeps trying on its own; check with ts-status, or allow longer with --timeout"};
  }
  // The next notification, or the exit code: deadline, interrupt, or the stream's end.
  tl::expected<ts::Notify, int> next_notify() {
    auto ev = bus_->next(deadline_);
    if (!ev) return tl::unexpected(fail(timed_out(ts::normalized_state(state_))));
    if (ev->kind == ts::BusEvent::Kind::kClosed)
      return tl::unexpected(fail({ExitCode::kUnavailable, "tailscaled closed the IPN bus", {}}));
    if (ev->kind == ts::BusEvent::Kind::kFailed) return tl::unexpected(fail(ev->error));
    return std::move(ev->notify);
  }

  // 2 and 3: watch the bus first (its first line means nothing after our writes can be missed),
  // then read the status and prefs and plan the changes.
  std::optional<int> watch_and_read() {
    bus_.emplace(ts::connect_local_api(common_.socket, {.timeout = common_.timeout}),
                 ts::BusOptions{.mask = kMask, .idle_timeout = args_.wait_timeout + std::chrono::seconds(30)});
    if (auto first = next_notify(); !first) return first.error();
    client_.emplace(common_);
    auto st = (*client_)->status(true);
    if (!st) return fail(st.error());
    auto prefs = (*client_)->prefs();
    if (!prefs) return fail(prefs.error());
    status_ = std::move(*st);
    prefs_ = std::move(*prefs);
    std::optional<ExitNodeChoice> exit;
    if (s_.exit_node) {
      auto r = resolve_exit_node(*s_.exit_node, status_);
      if (!r) return report(common_, r.error());
      exit = *r;
      exit_deferred_ = !exit;
    }
    plan_ = make_plan(s_, prefs_, exit);
    diffs_ = prefs_differences(plan_, prefs_);
    control_url_ = s_.control_url.value_or(prefs_.control_url);
    state_ = status_.backend_state;
    up_already_ = state_ == ts::BackendState::kRunning || state_ == ts::BackendState::kStarting;
    return std::nullopt;
  }

  // 3: nothing to write, one PATCH, or a new login.
  std::optional<int> write_changes() {
    if (!up_already_ || args_.force_reauth) return login();
    if (diffs_.empty() || (diffs_.size() == 1 && exit_deferred_)) {
      if (have_key_) spdlog::info("already logged in; the auth key from {} was not used", key_.source);
      return std::nullopt;
    }
    if (needs_reauth(diffs_)) {
      std::string what;
      for (const auto& d : diffs_) {
        if (d == "control_url" || d == "advertise_tags") what += (what.empty() ? "" : " and ") + d;
      }
      return report(common_, {ExitCode::kDataErr, "changing " + what + " of a logged-in node needs a new login; nothing was changed",
                              "re-run with --force-reauth (with an auth key that allows the tags)"});
    }
    auto r = (*client_)->patch_prefs(masked_prefs(plan_));
    if (!r) return fail(r.error());
    out_.changed = true;
    out_.changes = diffs_;
    return std::nullopt;
  }

  // check-prefs, start, login-interactive.
  std::optional<int> login() {
    Json full = full_prefs(prefs_.raw, plan_);
    if (auto r = (*client_)->check_prefs(full); !r) return fail(r.error());
    if (core::interrupted()) return fail({});
    bus_->drain();
    print_.state(state_, control_url_);
    if (auto rc = start(full)) return rc;
    out_.changed = true;
    out_.changes = diffs_;
    // Also with an auth key, as `tailscale up` does: start only hands the key to the control
    // client; a node without a node key registers (with the key) once login-interactive asks.
    if (!has_node_key(status_) || args_.force_reauth) {
      if (auto r = (*client_)->login_interactive(); !r) return fail(r.error());
    }
    return std::nullopt;
  }

  // The body is written into one buffer reserved up front (a growing string would leave freed
  // copies of the key behind), sent, and wiped together with the key itself: once tailscaled
  // has it, ts-auth no longer holds it (messages are redacted by pattern from then on).
  std::optional<int> start(const Json& full) {
    const std::string& secret = key_.key.value();
    std::string prefs_text = full.dump();
    std::string body;
    body.reserve(prefs_text.size() + 2 * secret.size() + 40);
    body += "{\"AuthKey\":\"";
    for (char c : secret) {
      if (c == '"' || c == '\\') body += '\\';
      body += c;
    }
    body += "\",\"UpdatePrefs\":";
    body += prefs_text;
    body += '}';
    auto started = (*client_)->start(body);
    wipe_string(body);
    if (!started) {
      core::Error e = started.error();
      e.message = redact(e.message, secret);  // before the wipe: also keys without a tskey- prefix
      key_.key.wipe();
      // A 500 from start is the backend refusing what we sent (a bad key, invalid prefs).
      if (e.code == ExitCode::kProtocol && e.message.find("HTTP 500") != std::string::npos) e.code = ExitCode::kDataErr;
      return fail(e);
    }
    key_.key.wipe();
    return std::nullopt;
  }

  // 4: follow the bus until Running (or, with --no-wait, an auth URL or machine approval).
  std::optional<int> follow_bus() {
    bool done = state_ == ts::BackendState::kRunning && !out_.changed;
    if (out_.changed && up_already_ && !args_.force_reauth) done = true;  // a PATCH on a running node
    while (!done) {
      auto n = next_notify();
      if (!n) return n.error();
      // The key was wiped right after start; daemon messages are still redacted (any tskey- token).
      if (n->err_message && !n->err_message->empty())
        return report(common_, {ExitCode::kDataErr, "tailscaled: " + redact(*n->err_message, key_.key.value()),
                                have_key_ ? "check the auth key (expired, revoked, or for another tailnet?)" : ""});
      if (n->browse_to_url && !have_key_ && print_.auth_url(*n->browse_to_url) && args_.no_wait) break;
      if (n->state) {
        state_ = *n->state;
        print_.state(state_, control_url_);
        if (state_ == ts::BackendState::kRunning) break;
        if (state_ == ts::BackendState::kNeedsMachineAuth && args_.no_wait) break;
      }
    }
    return std::nullopt;
  }

  // An exit node given by name: resolvable only now that the netmap exists (sing-box does the same).
  std::optional<int> set_deferred_exit_node() {
    if (!exit_deferred_ || state_ != ts::BackendState::kRunning) return std::nullopt;
    auto st = (*client_)->status(true);
    if (!st) return report(common_, st.error());
    auto r = resolve_exit_node(*s_.exit_node, *st);
    if (!r) return report(common_, r.error());
    if (!*r) return std::nullopt;
    Plan p2 = make_plan(s_, prefs_, *r);
    auto now_prefs = (*client_)->prefs();
    if (!now_prefs) return report(common_, now_prefs.error());
    auto d2 = prefs_differences(p2, *now_prefs);
    if (d2.empty()) return std::nullopt;
    auto pr = (*client_)->patch_prefs(masked_prefs(p2));
    if (!pr) return report(common_, pr.error());
    out_.changed = true;
    if (out_.changes.empty()) out_.changes = d2;
    return std::nullopt;
  }

  const CommonArgs& common_;
  const UpArgs& args_;
  const Settings s_;
  AuthKey key_;
  Outcome out_;
  const bool have_key_;
  const Clock::time_point deadline_;
  Printer print_;
  std::optional<ts::BusFollower> bus_;
  std::optional<Client> client_;
  ts::Status status_;
  ts::Prefs prefs_;
  Plan plan_;
  std::vector<std::string> diffs_;
  std::string control_url_;
  ts::BackendState state_ = ts::BackendState::kUnknown;
  bool up_already_ = false;
  bool exit_deferred_ = false;
};

}  // namespace

int run_up(const CommonArgs& common, UpArgs& args) {
  auto in = read_inputs(args);
  if (!in) return report(common, in.error());
  return Up(common, args, std::move(*in)).run();
}

}  // namespace tb::cmd
