#pragma once
// The fake tailscaled: a stand-in for the daemon's Local API used by every CLI test.
// Daemon holds the state: daemon.cpp (scenario, request log, timeline), status.cpp (status, prefs,
// whois, ping, the node views), notify.cpp (watch-ipn-bus), state_machine.cpp (backend states),
// actions.cpp (timeline steps and control requests); go_json.cpp and support.cpp are its helpers.
// http.cpp puts it on the wire (Unix socket, optional loopback TCP + token, control socket);
// main.cpp parses flags, prints the ready line and waits for SIGTERM. README.md documents it all.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tb::fake {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

enum class Perm { kReadWrite, kReadOnly, kNone };

struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
// http.Error: plain text with a trailing newline.
Reply text_reply(int status, const std::string& msg);
Reply json_reply(int status, std::string body);

// A one-shot (or repeated) misbehaviour of the next matching Local API request.
struct Fault {
  std::string kind;  // slow | 403 | 500 | garbage
  int ms = 0;        // slow: delay before answering normally
  int count = 1;     // how many requests it hits; -1 = all from now on
  std::string path;  // endpoint under /localapi/v0/ ("status"), empty = any
  std::string body;  // optional body for 403/500/garbage
};

// One watch-ipn-bus subscriber. Lines are queued under the daemon's mutex.
struct Watcher {
  uint64_t mask = 0;
  std::deque<std::string> lines;
  bool cut = false;     // write half of a line, then close
  bool closed = false;  // close now (daemon went away, shutdown)
};

enum class Next { kLine, kIdle, kCut, kClosed };

// Go's encoding/json output: escapes <, >, & and U+2028/2029 inside strings.
std::string go_escape(std::string s);
std::string go_indent(const Json& j);   // MarshalIndent(v, "", "\t"), no trailing newline
std::string go_compact(const Json& j);  // Marshal(v)

class Daemon {
 public:
  struct Hooks {
    std::function<void()> go_away;    // close listeners, delete sockets
    std::function<void()> come_back;  // recreate them
  };

  Daemon();
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Throws std::runtime_error on a bad scenario.
  void load(const Json& scenario, const std::string& scenario_dir, const std::string& fixtures_dir);
  void set_hooks(Hooks h) { hooks_ = std::move(h); }
  void open_log(const std::string& path);
  void start_timeline();
  void shutdown();

  std::string version();
  int cap();
  Perm perm();
  std::optional<Fault> take_fault(const std::string& endpoint);
  void log_request(Json entry);

  Reply status(bool with_peers);
  Reply get_prefs();
  Reply patch_prefs(const std::string& body);
  Reply check_prefs(const std::string& body);
  Reply start(const std::string& body);
  Reply login_interactive();
  Reply logout();
  Reply whois(const std::string& addr);
  Reply ping(const std::string& ip, const std::string& type);
  Reply so_mark();
  Reply dns_config();
  Reply suggest_exit_node();  // exit_nodes.cpp

  std::shared_ptr<Watcher> add_watcher(uint64_t mask);
  void remove_watcher(const std::shared_ptr<Watcher>& w);
  Next next_line(Watcher& w, std::string& out, std::chrono::milliseconds wait);
  std::string half_line();
  bool stopping();

  // One timeline step or control request (see README.md "Actions").
  Reply apply(const Json& action);
  Json summary();
  bool wait_watchers(size_t n, std::chrono::milliseconds timeout);

 private:
  struct Note {
    std::string session_id;
    std::optional<std::string> err;
    bool login_finished = false;
    std::optional<int> state;
    bool prefs = false;
    Json initial_status;  // null = absent
    Json netmap;          // null = NetMap:null
    std::optional<std::string> browse;
    bool health = false;
  };

  Json synthesised_status_locked(const Json& sc);
  void split_status_locked(const Json& st);
  void load_prefs_locked(const Json& sc, const std::function<std::string(const std::string&)>& resolve);
  Json render_status_locked(bool with_peers) const;
  std::vector<std::pair<std::string, std::string>> health_locked() const;
  Json health_state_locked() const;
  std::string line_locked(const Note& n) const;
  void emit_locked(const Note& n);
  void emit_peer_locked(const Json& peer, bool patch_online, bool removed);
  void set_state_locked(const std::string& s);
  void go_running_locked();
  void login_done_locked();
  void key_login_locked(std::string key, bool explicit_off);  // by value: callers pass pending_key_
  void after_change_locked(const std::vector<std::pair<std::string, std::string>>& old_health);
  Json* find_peer_locked(const std::string& name, std::string* key = nullptr);
  Json make_peer_locked(const std::string& name, const std::string& os, bool online);
  Json node_locked(const Json& ps) const;
  Json netmap_locked() const;
  void update_exit_node_locked();
  // exit_nodes.cpp: the suggestion, and Prefs.AutoExitNode in a PATCH and after peer changes.
  std::string suggestion_locked();
  void patch_auto_exit_node_locked(const Json& masked, Json& next);
  void resolve_auto_exit_node_locked();
  Reply apply_locked(const Json& action, bool& go_away, bool& come_back);
  std::optional<Reply> apply_state_locked(const Json& a);
  std::optional<Reply> apply_peers_locked(const Json& a);
  std::optional<Reply> edit_peer_locked(const Json& pa);
  std::optional<Reply> apply_faults_locked(const Json& a);
  std::optional<Reply> apply_presence_locked(const Json& a, bool& go_away, bool& come_back);
  void schedule(int ms, Json action);
  void timer_loop();

  std::mutex mu_;
  std::condition_variable cv_;  // watcher queues and watcher count
  Hooks hooks_;
  bool stopping_ = false;

  // Status: top-level fields of the logged-in view, in Go order; Peer and User live in the maps so
  // that keys stay sorted bytewise like Go's map encoding.
  Json base_;
  std::map<std::string, Json> peers_;  // nodekey -> PeerStatus
  std::map<std::string, Json> users_;  // decimal id -> UserProfile
  Json prefs_;
  std::string version_ = "1.102.3-t1234567ab-g89abcdef0";
  std::string last_suggested_;  // the previous exit-node suggestion (kept while still a candidate)
  int cap_ = 142;
  std::string state_ = "Running";
  bool logged_in_ = true;
  bool machine_auth_required_ = false;
  std::string auth_url_;
  std::string login_error_;
  std::string pending_key_;  // an auth key start kept for login-interactive (no node key yet)
  bool pending_key_off_ = false;
  int pending_gen_ = 0;
  int key_login_ms_ = 500;  // the login happens anyway after this long
  std::vector<std::pair<std::string, std::string>> health_;  // code, text
  Perm perm_ = Perm::kReadWrite;
  bool so_mark_ = true;
  // The netmap's DNS config (tailcfg.DNSConfig) for dns-config; null: Domains = [suffix] and
  // Proxied, what the lab's control sends.
  Json dns_config_;
  int starting_ms_ = 0;
  std::string suffix_ = "tail1234.ts.net";
  int next_index_ = 1;
  std::deque<Fault> faults_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
  bool away_ = false;

  Json timeline_ = Json::array();
  std::multimap<Clock::time_point, Json> timers_;
  std::condition_variable timer_cv_;
  std::thread timer_thread_;

  std::mutex log_mu_;
  FILE* log_ = nullptr;
};

// The Local API listeners: a Unix socket and, optionally, loopback TCP with a Basic-auth token
// (macOS GUI mode). stop() closes them and deletes the socket file; start() recreates them, which is
// how the daemon "goes away and comes back".
struct ListenOptions {
  std::string socket;
  int tcp_port = -1;  // -1 = no TCP listener, 0 = any free port
  std::string token;
};

class Listeners {
 public:
  Listeners(Daemon& d, ListenOptions o);
  ~Listeners();
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;
  bool start(std::string& err);
  void stop();
  int tcp_port() const { return opts_.tcp_port; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Daemon& d_;
  ListenOptions opts_;
  std::mutex mu_;
};

// The control socket: plain HTTP that drives Daemon::apply (see README.md "Control API").
class Control {
 public:
  explicit Control(Daemon& d);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;
  bool start(const std::string& path, std::string& err);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Daemon& d_;
  std::string path_;
};

}  // namespace tb::fake
