#pragma once
// LocalApiClient: the calls tailbox makes to tailscaled (docs/localapi.md, "Endpoints"), with the daemon's
// HTTP errors mapped to tailbox errors ("Permissions", "Error bodies"):
//   403                      -> ExitCode::kNoPerm, the daemon's reason + the operator hint
//   other non-2xx            -> ExitCode::kProtocol, the daemon's message: a JSON body's
//                               "error"/"Error" (matched case-insensitively) or the text body
//   unparseable reply        -> ExitCode::kProtocol
//   transport failures       -> as Transport says (69 unreachable, 75 timeout, 77 EACCES …)
// Connect failures are retried for a short while (the Go CLI retries for 2 s) so that
// `tailscaled & ts-status wait` works.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"
#include "libcommon/tailscale/notify.hpp"
#include "libcommon/tailscale/prefs.hpp"
#include "libcommon/tailscale/probe.hpp"
#include "libcommon/tailscale/status.hpp"
#include "libcommon/tailscale/transport.hpp"

namespace tb::ts {

struct ClientOptions {
  std::chrono::milliseconds timeout{5000};          // per request
  std::chrono::milliseconds connect_retry{1000};    // keep retrying a refused connect this long
};

class LocalApiClient {
 public:
  explicit LocalApiClient(std::unique_ptr<Transport> transport, ClientOptions opts = {});

  core::Result<Status> status(bool peers = true);
  // The daemon's document, unchanged (for --raw).
  core::Result<std::string> status_raw(bool peers = true);
  core::Result<Prefs> prefs();
  // The netmap's DNS config; nullopt when the daemon has none to give (404 before 1.102, 503
  // without a netmap). Not retried.
  core::Result<std::optional<DnsConfig>> dns_config();
  core::Result<Prefs> patch_prefs(const core::Json& masked_prefs);
  // check-prefs answers 200 even when the prefs are invalid; {"Error": …} becomes kDataErr here.
  core::Result<void> check_prefs(const core::Json& prefs);
  // POST start with the options document as JSON text (it may hold an auth key: the caller owns
  // and wipes the text; no copy of it outlives the request).
  core::Result<void> start(std::string_view options_json);
  core::Result<void> login_interactive();
  core::Result<void> logout();
  core::Result<core::Json> whois(const std::string& addr);
  // GET dns-query (write access): {"Bytes": <base64 DNS response>, "Resolvers": …} from the
  // daemon's own resolver, as `tailscale dns query` asks it (dns_query.hpp reads it).
  core::Result<core::Json> dns_query(const std::string& name, const std::string& type);
  // probe.cpp: POST ping (one ping of `type`, bounded by `timeout`: a ping without a reply is
  // kTimeout) and GET suggest-exit-node (an empty id: no suggestion).
  core::Result<PingResult> ping(const std::string& ip, std::string_view type, std::chrono::milliseconds timeout);
  core::Result<ExitNodeSuggestion> suggest_exit_node();

  // Streams the IPN bus until on_notify returns false (Ok), the daemon goes away (kUnavailable),
  // or cancel() (kInterrupted). Lines that do not parse are an error (kProtocol): a stream cut
  // mid-line ends with EOF, which is reported as the daemon going away, never as a partial record.
  core::Result<void> watch_ipn_bus(uint64_t mask, const std::function<bool(const Notify&)>& on_notify,
                                   std::chrono::milliseconds idle_timeout = std::chrono::hours(24));

  // Unblocks any call in progress (from another thread). Sticky.
  void cancel();

  const Endpoint& endpoint() const { return transport_->endpoint(); }

 private:
  core::Result<HttpResponse> call(std::string_view method, const std::string& path, std::string_view body,
                                  std::string_view what);

  std::unique_ptr<Transport> transport_;
  ClientOptions opts_;
};

// Builds the error for a non-2xx reply (exposed for tests and for ts-auth's own mapping).
core::Error daemon_error(const HttpResponse& resp, std::string_view what);
// The message inside a daemon error body: "error"/"Error" of a JSON object, else the trimmed text.
std::string daemon_error_message(std::string_view body);

// Connects using the usual discovery: --socket, TS_SOCKET, then the platform's paths.
std::unique_ptr<LocalApiClient> connect_local_api(const std::string& socket_flag, ClientOptions opts = {});

}  // namespace tb::ts
