#pragma once
// ts-auth: the subcommands' arguments and entry points. main.cpp parses flags into these structs;
// each run_* builds its request (pure), calls libcommon, and prints records. Each returns the exit code.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmd/ts-auth/auth_key.hpp"
#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/cancellable_client.hpp"
#include "libcommon/tailscale/localapi_client.hpp"

namespace tb::cmd {

struct CommonArgs {
  std::string socket;                       // --socket PATH (else TS_SOCKET, else discovery)
  std::chrono::milliseconds timeout{5000};  // --request-timeout: per Local API request
  bool json = false;                        // --json: v1 JSON lines instead of text
};

// What the user asked for, from flags and/or a sing-box endpoint. An unset optional means "leave
// the daemon's value as it is".
struct Settings {
  std::optional<std::string> hostname;
  std::optional<std::string> control_url;
  std::optional<bool> accept_routes;
  std::optional<std::string> exit_node;  // IP or peer name; "" clears
  std::optional<bool> exit_node_allow_lan_access;
  std::optional<std::vector<std::string>> advertise_routes;
  std::optional<bool> advertise_exit_node;
  std::optional<std::vector<std::string>> advertise_tags;
  std::optional<int64_t> relay_server_port;    // config relay_server_port
  std::optional<std::vector<std::string>> relay_server_static_endpoints;
  bool ephemeral = false;
};

// An option that daemon-only mode cannot apply, and why (docs/singbox.md, "Daemon-only mapping").
struct IgnoredOption {
  std::string option;  // the config key or flag name, e.g. "state_directory"
  std::string reason;
};

struct UpArgs {
  Settings flags;                        // from the command line (override the config)
  std::string auth_key_arg;              // --auth-key VALUE ("-" = stdin, "file:PATH")
  bool auth_key_arg_given = false;
  std::string auth_key_file;             // --auth-key-file PATH
  std::string config;                    // -c FILE
  std::string endpoint_tag;              // --endpoint TAG
  bool no_wait = false;
  bool force_reauth = false;
  std::chrono::milliseconds wait_timeout{std::chrono::minutes(2)};
  std::string qr = "auto";               // auto | always | never
};

// `ts-auth set` (set.cpp): edit a running node's prefs, as `tailscale set` does.
struct SetArgs {
  std::optional<std::string> exit_node;  // NAME | IP | auto:any | none ("" also clears)
  std::optional<bool> exit_node_allow_lan_access;
};

struct LogoutArgs {};
struct UrlArgs {};

int run_up(const CommonArgs& common, UpArgs& args);
int run_logout(const CommonArgs& common, const LogoutArgs& args);
int run_set(const CommonArgs& common, const SetArgs& args);
int run_url(const CommonArgs& common, const UrlArgs& args);

// ---- shared helpers (common.cpp) ----
// A Local API client that Ctrl-C cancels (the call in progress returns kInterrupted).
class Client : public ts::CancellableClient {
 public:
  explicit Client(const CommonArgs& common) : CancellableClient(common.socket, common.timeout) {}
};
// Prints "ts-auth: <line>" on stderr (and an error record on stdout with --json); returns the code.
int report(const CommonArgs& common, const core::Error& e);
// "ts-auth: warning: …" on stderr.
void warn(const std::string& text);
core::Json base_record(const char* type);

// ---- settings.cpp (pure) ----
// Validates and normalises (tags get "tag:", hostname is a DNS label, routes are prefixes, no
// default route, not both an exit node and advertising one). `code` is the exit code for errors
// (2 for flags, 78 for a config file); `origin` prefixes the messages ("--hostname", "endpoint.hostname").
core::Result<Settings> normalise_settings(Settings s, core::ExitCode code, bool from_config);
// Flags win over the config, field by field.
Settings merge_settings(const Settings& config, const Settings& flags);
// Options that cannot be honoured, given whether an auth key is used.
std::vector<IgnoredOption> ephemeral_notes(const Settings& s, bool have_key);

// The exit node as prefs fields, resolved against the status (IP literal or a peer's name).
struct ExitNodeChoice {
  std::string ip;  // ExitNodeIP
  std::string id;  // ExitNodeID (for names)
  std::string auto_expr;  // AutoExitNode ("any" for "auto:any"): tailscaled picks and fails over
};
// "auto:EXPR" (tailscaled 1.86+; an older daemon is an error naming its version), an IP or a name.
// nullopt: a peer name that cannot be resolved yet (no netmap before Running).
core::Result<std::optional<ExitNodeChoice>> resolve_exit_node(const std::string& arg, const ts::Status& status);
bool is_ip_literal(const std::string& s);

// Names of the settings that differ from the daemon's prefs ("hostname", "accept_routes", …).
// exit_node is compared through `exit` when known.
// Settings already resolved against the daemon: the exit node (when known) and the routes to
// advertise (advertise_routes plus the two default routes for advertise_exit_node; whichever
// of the two is not given keeps the daemon's current part).
struct Plan {
  Settings settings;
  std::optional<ExitNodeChoice> exit;              // set when settings.exit_node is set and resolved
  std::optional<std::vector<std::string>> routes;  // AdvertiseRoutes to send
};
Plan make_plan(const Settings& s, const ts::Prefs& current, const std::optional<ExitNodeChoice>& exit);

// Names of the settings that differ from the daemon's prefs ("hostname", "accept_routes", …).
std::vector<std::string> prefs_differences(const Plan& plan, const ts::Prefs& p);
// True when a difference needs a new login (control URL, tags), not a prefs edit.
bool needs_reauth(const std::vector<std::string>& differences);
// A MaskedPrefs PATCH body (with …Set flags) for the plan; WantRunning true.
core::Json masked_prefs(const Plan& plan);
// Full prefs for check-prefs/start: the daemon's prefs with the plan applied, WantRunning true,
// LoggedOut false, Config (Persist) removed.
core::Json full_prefs(const core::Json& current, const Plan& plan);
std::string normalise_control_url(const std::string& url);

// ---- endpoint_config.cpp ----
struct EndpointConfig {
  Settings settings;
  std::vector<IgnoredOption> ignored;
  std::optional<SecretString> auth_key;  // endpoint auth_key, if any
  std::string tag;
};
// Reads a sing-box config with sb-route's loader and compiler and picks the tailscale endpoint
// (the one tagged `tag`, or the only one); the config's errors inside it are fatal. Errors are
// ExitCode::kConfig.
core::Result<EndpointConfig> load_endpoint_config(const std::string& path, const std::string& tag);

// ---- qr.cpp ----
// The URL as a QR code drawn with Unicode half blocks (two modules per character cell), light
// modules drawn, so it reads on dark terminals; a 2-module quiet zone. "" if encoding fails.
std::string render_qr(const std::string& text);

}  // namespace tb::cmd
