// `ts-auth up`: bring the node up the way `tailscale up` does (spec localapi.md §2.6), but never
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

#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "cmd/ts-auth/commands.hpp"
#include "libcommon/core/output.hpp"
#include "libcommon/core/process.hpp"
#include "libcommon/core/term.hpp"
#include "libcommon/core/time.hpp"
#include "libcommon/tailscale/records.hpp"

namespace tb::cmd {

using core::ExitCode;
using core::Json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kMask = ts::notify_mask::kInitialState | ts::notify_mask::kNoPrivateKeys;  // 18

// The IPN bus on its own connection and thread; the main thread takes events with a deadline.
class Bus {
 public:
  struct Event {
    std::optional<ts::Notify> notify;
    std::optional<core::Error> error;  // the stream ended
  };

  Bus(const CommonArgs& common, std::chrono::milliseconds idle) : client_(common) {
    // Notify under the lock: otherwise the signal can land between the waiter's predicate check
    // and its sleep, and the wake-up is lost.
    handle_ = core::on_interrupt([this] {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    });
    thread_ = std::thread([this, idle] {
      auto r = client_->watch_ipn_bus(
          kMask,
          [this](const ts::Notify& n) {
            std::lock_guard lock(mu_);
            if (stop_) return false;
            events_.push_back(Event{n, std::nullopt});
            cv_.notify_all();
            return true;
          },
          idle);
      std::lock_guard lock(mu_);
      core::Error e = r ? core::Error{ExitCode::kUnavailable, "tailscaled closed the IPN bus", {}} : r.error();
      events_.push_back(Event{std::nullopt, e});
      cv_.notify_all();
    });
  }

  ~Bus() {
    core::remove_on_interrupt(handle_);
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    client_->cancel();
    if (thread_.joinable()) thread_.join();
  }

  // nullopt: deadline passed or interrupted (the caller tells which).
  std::optional<Event> next(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [this] { return !events_.empty() || core::interrupted(); });
    if (core::interrupted() || events_.empty()) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

  // Drops the notifications queued so far (they predate our writes).
  void drain() {
    std::lock_guard lock(mu_);
    while (!events_.empty() && events_.front().notify) events_.pop_front();
  }

 private:
  Client client_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  bool stop_ = false;
  int handle_ = 0;
  std::thread thread_;
};

std::string admin_url(const std::string& control_url) {
  std::string u = normalise_control_url(control_url);
  if (u == "https://controlplane.tailscale.com") return "https://login.tailscale.com/admin/machines";
  return u + "/admin/machines";
}

std::string trim_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
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
  j["name"] = st.self ? trim_dot(st.self->dns_name) : "";
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

}  // namespace

int run_up(const CommonArgs& common, UpArgs& args) {
  // ---- 1. Inputs, checked before the daemon is touched ----
  Settings config_settings;
  Outcome out;
  std::optional<SecretString> config_key;
  std::string config_source;
  if (!args.config.empty()) {
    auto cfg = load_endpoint_config(args.config, args.endpoint_tag);
    if (!cfg) return report(common, cfg.error());
    config_settings = std::move(cfg->settings);
    out.ignored = std::move(cfg->ignored);
    if (cfg->auth_key) config_key = std::move(cfg->auth_key);
    config_source = "config " + args.config + " (endpoint " + cfg->tag + ")";
  } else if (!args.endpoint_tag.empty()) {
    return report(common, core::Error{ExitCode::kUsage, "--endpoint needs -c/--config", {}});
  }
  auto flags = normalise_settings(args.flags, ExitCode::kUsage, false);
  if (!flags) return report(common, flags.error());
  auto merged = normalise_settings(merge_settings(config_settings, *flags), ExitCode::kUsage, false);
  if (!merged) return report(common, merged.error());
  const Settings& s = *merged;

  KeySources src{args.auth_key_arg, args.auth_key_arg_given, args.auth_key_file, false};
  auto key_r = read_auth_key(src);
  wipe_string(args.auth_key_arg);
  if (!key_r) return report(common, key_r.error());
  AuthKey key = std::move(*key_r);
  if (key.key.empty() && config_key) {
    if (auto v = validate_key(config_key->value(), config_source); !v) return report(common, v.error());
    key.key = std::move(*config_key);
    key.source = config_source;
  }
  const bool have_key = !key.key.empty();
  out.key_source = key.source;
  if (key.source == "--auth-key")
    warn("an auth key given on the command line is visible to other users (ps, /proc/PID/cmdline) and in shell "
         "history; use --auth-key-file FILE, --auth-key - (stdin) or TS_AUTHKEY");
  for (auto& n : ephemeral_notes(s, have_key)) out.ignored.push_back(n);
  for (const auto& i : out.ignored) warn(i.option + " is not applied in daemon-only mode: " + i.reason);
  const std::string& secret = key.key.value();

  // ---- 2. Watch the bus first ----
  const auto deadline = Clock::now() + args.wait_timeout;
  auto timed_out = [&](const std::string& state) {
    return core::Error{ExitCode::kTimeout,
                       "timed out after " + core::format_duration(args.wait_timeout.count() / 1000) +
                           " waiting for tailscaled to reach Running (state: " + state + ")",
                       "tailscaled keeps trying on its own; check with ts-status, or allow longer with --timeout"};
  };
  auto interrupted = [&] {
    return core::Error{ExitCode::kInterrupted, "interrupted; nothing was undone or logged out", {}};
  };
  Bus bus(common, args.wait_timeout + std::chrono::seconds(30));
  auto first = bus.next(deadline);
  if (!first) return report(common, core::interrupted() ? interrupted() : timed_out("unknown"));
  if (first->error) return report(common, core::interrupted() ? interrupted() : *first->error);

  // ---- 3. Status and prefs ----
  Client client(common);
  auto st = client->status(true);
  if (!st) return report(common, core::interrupted() ? interrupted() : st.error());
  auto prefs = client->prefs();
  if (!prefs) return report(common, core::interrupted() ? interrupted() : prefs.error());

  std::optional<ExitNodeChoice> exit;
  bool exit_deferred = false;
  if (s.exit_node) {
    auto r = resolve_exit_node(*s.exit_node, *st);
    if (!r) return report(common, r.error());
    exit = *r;
    exit_deferred = !exit;
  }
  Plan plan = make_plan(s, *prefs, exit);
  std::vector<std::string> diffs = prefs_differences(plan, *prefs);
  const std::string control_url = s.control_url.value_or(prefs->control_url);
  Printer print(common, args.qr);

  const ts::BackendState initial = st->backend_state;
  const bool up_already = initial == ts::BackendState::kRunning || initial == ts::BackendState::kStarting;
  if (up_already && !args.force_reauth && (diffs.empty() || (diffs.size() == 1 && exit_deferred))) {
    // Idempotent: nothing to write.
    if (have_key) spdlog::info("already logged in; the auth key from {} was not used", key.source);
  } else if (up_already && !args.force_reauth && !needs_reauth(diffs)) {
    // Just edit: one PATCH, no new login.
    auto r = client->patch_prefs(masked_prefs(plan));
    if (!r) return report(common, core::interrupted() ? interrupted() : r.error());
    out.changed = true;
    out.changes = diffs;
  } else if (up_already && !args.force_reauth) {
    std::string what;
    for (const auto& d : diffs) {
      if (d == "control_url" || d == "advertise_tags") what += (what.empty() ? "" : " and ") + d;
    }
    return report(common, core::Error{ExitCode::kDataErr,
                                      "changing " + what + " of a logged-in node needs a new login; nothing was changed",
                                      "re-run with --force-reauth (with an auth key that allows the tags)"});
  } else {
    // Full: check-prefs, start, login-interactive.
    Json full = full_prefs(prefs->raw, plan);
    if (auto r = client->check_prefs(full); !r) return report(common, core::interrupted() ? interrupted() : r.error());
    if (core::interrupted()) return report(common, interrupted());
    bus.drain();
    print.state(initial, control_url);
    // The body is written into one buffer reserved up front (a growing string would leave freed
    // copies of the key behind), sent, and wiped together with the key itself: once tailscaled
    // has it, ts-auth no longer holds it (messages are redacted by pattern from then on).
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
    auto started = client->start(body);
    wipe_string(body);
    if (!started) {
      core::Error e = started.error();
      e.message = redact(e.message, secret);  // before the wipe: also keys without a tskey- prefix
      key.key.wipe();
      // A 500 from start is the backend refusing what we sent (a bad key, invalid prefs).
      if (e.code == ExitCode::kProtocol && e.message.find("HTTP 500") != std::string::npos) e.code = ExitCode::kDataErr;
      return report(common, core::interrupted() ? interrupted() : e);
    }
    key.key.wipe();
    out.changed = true;
    out.changes = diffs;
    // Also with an auth key, as `tailscale up` does: start only hands the key to the control
    // client; a node without a node key registers (with the key) once login-interactive asks.
    if (!has_node_key(*st) || args.force_reauth) {
      if (auto r = client->login_interactive(); !r) return report(common, core::interrupted() ? interrupted() : r.error());
    }
  }
  // The key was wiped right after start; daemon messages are still redacted (any tskey- token).

  // ---- 4. Follow the bus ----
  ts::BackendState state = initial;
  bool done = state == ts::BackendState::kRunning && !out.changed;
  if (out.changed && up_already && !args.force_reauth) done = true;  // a PATCH on a running node
  while (!done) {
    auto ev = bus.next(deadline);
    if (!ev) return report(common, core::interrupted() ? interrupted() : timed_out(std::string(ts::normalized_state(state))));
    if (ev->error) return report(common, core::interrupted() ? interrupted() : *ev->error);
    const ts::Notify& n = *ev->notify;
    if (n.err_message && !n.err_message->empty())
      return report(common, core::Error{ExitCode::kDataErr, "tailscaled: " + redact(*n.err_message, secret),
                                        have_key ? "check the auth key (expired, revoked, or for another tailnet?)" : ""});
    if (n.browse_to_url && !have_key && print.auth_url(*n.browse_to_url) && args.no_wait) break;
    if (n.state) {
      state = *n.state;
      print.state(state, control_url);
      if (state == ts::BackendState::kRunning) break;
      if (state == ts::BackendState::kNeedsMachineAuth && args.no_wait) break;
    }
  }

  // Exit node given by name: resolvable only now that the netmap exists (sing-box does the same).
  if (exit_deferred && state == ts::BackendState::kRunning) {
    auto st2 = client->status(true);
    if (!st2) return report(common, st2.error());
    auto r = resolve_exit_node(*s.exit_node, *st2);
    if (!r) return report(common, r.error());
    if (*r) {
      Plan p2 = make_plan(s, *prefs, *r);
      auto now_prefs = client->prefs();
      if (!now_prefs) return report(common, now_prefs.error());
      auto d2 = prefs_differences(p2, *now_prefs);
      if (!d2.empty()) {
        auto pr = client->patch_prefs(masked_prefs(p2));
        if (!pr) return report(common, pr.error());
        out.changed = true;
        if (out.changes.empty()) out.changes = d2;
      }
    }
  }

  auto fin = client->status(false);
  if (!fin) return report(common, fin.error());
  Json rec = final_record(*fin, out, print.url());
  if (print.json()) core::emit_record(rec);
  else core::write_stdout(final_text(rec));
  return 0;
}

}  // namespace tb::cmd
