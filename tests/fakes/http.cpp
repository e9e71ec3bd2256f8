// The fake's wire: cpp-httplib servers for the Local API (Unix socket, optional loopback TCP with a
// token) and for the control socket. Request checks follow ipn/localapi's order: Referer/Origin,
// then the Basic-auth password (TCP only), then the Host rule, then per-endpoint permission, then
// the method.

#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <ctime>
#include <map>
#include <string>

#include "fake.hpp"

namespace tb::fake {

namespace {

using HR = httplib::Server::HandlerResponse;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    auto p = chars.find(c);
    if (p == std::string::npos) break;
    val = (val << 6) + static_cast<int>(p);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

// strconv.ParseBool; anything else keeps the default (how /status treats ?peers=).
bool go_bool(const std::string& s, bool def) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return def;
}

// Go's server takes a POST without Content-Length as an empty body (curl -X POST sends none);
// httplib would answer 400, so say so explicitly before it reads the body.
void assume_empty_body(const httplib::Request& req) {
  if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding"))
    const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
}

void put(httplib::Response& res, const Reply& r) {
  res.status = r.status;
  if (r.status != 204) res.set_content(r.body, r.content_type.c_str());
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Json log_entry(const httplib::Request& req, const char* listener) {
  Json e;
  e["ts_ms"] = unix_ms();
  e["listener"] = listener;
  e["method"] = req.method;
  e["path"] = req.path;
  // From the URL only: httplib also merges form bodies into params.
  Json q = Json::object();
  auto qpos = req.target.find('?');
  std::string query = qpos == std::string::npos ? "" : req.target.substr(qpos + 1);
  for (size_t i = 0; i < query.size();) {
    size_t amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    std::string kv = query.substr(i, amp - i);
    auto eq = kv.find('=');
    std::string k = url_decode(kv.substr(0, eq)), v = eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1));
    if (!k.empty()) q[k] = v;
    i = amp + 1;
  }
  e["query"] = q;
  e["host"] = req.has_header("Host") ? Json(req.get_header_value("Host")) : Json(nullptr);
  e["tailscale_cap"] = req.has_header("Tailscale-Cap") ? Json(req.get_header_value("Tailscale-Cap")) : Json(nullptr);
  e["authorization"] = req.has_header("Authorization");
  e["body"] = req.body;
  return e;
}

}  // namespace

// ---------------------------------------------------------------- Local API

struct Listeners::Impl {
  std::unique_ptr<httplib::Server> unix_srv, tcp_srv;
  std::thread unix_thr, tcp_thr;
};

Listeners::Listeners(Daemon& d, ListenOptions o) : impl_(std::make_unique<Impl>()), d_(d), opts_(std::move(o)) {}
Listeners::~Listeners() { stop(); }

namespace {

class Api {
 public:
  Api(Daemon& d, const ListenOptions& o, bool tcp) : d_(d), o_(o), tcp_(tcp) {}

  HR pre(const httplib::Request& req, httplib::Response& res) {
    // Go's http client asks for gzip on its own; tailscaled never compresses, and a compressed
    // watch-ipn-bus would sit in zlib's buffer instead of reaching the client.
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    assume_empty_body(req);
    res.set_header("Tailscale-Version", d_.version());
    res.set_header("Tailscale-Cap", std::to_string(d_.cap()));
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; frame-ancestors 'none'; script-src 'none'; script-src-elem 'none'; "
                   "script-src-attr 'none'");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("X-Content-Type-Options", "nosniff");
    std::optional<Reply> deny;
    // httplib drops empty header values, so "Host:" and no Host look alike here; both pass (Go
    // answers 400 to a missing Host, which no real client sends).
    if (req.path.rfind("/localapi/", 0) == 0) {
      std::string host = req.get_header_value("Host");
      std::string port = std::to_string(o_.tcp_port);
      bool host_ok = host.empty() || host == "local-tailscaled.sock" ||
                     (tcp_ && (host == "127.0.0.1:" + port || host == "localhost:" + port));
      if (req.has_header("Referer") || req.has_header("Origin")) {
        deny = text_reply(403, "invalid localapi request");
      } else if (tcp_) {
        std::string auth = req.get_header_value("Authorization");
        if (auth.rfind("Basic ", 0) != 0) {
          deny = text_reply(401, "auth required");
        } else {
          std::string cred = base64_decode(auth.substr(6));
          auto colon = cred.find(':');
          if (colon == std::string::npos) deny = text_reply(401, "auth required");
          else if (cred.substr(colon + 1) != o_.token) deny = text_reply(403, "bad password");
        }
      }
      if (!deny && !host_ok) deny = text_reply(403, "invalid localapi request");
    }
    if (!deny) return HR::Unhandled;
    put(res, *deny);
    Json e = log_entry(req, tcp_ ? "tcp" : "unix");
    e["status"] = deny->status;
    d_.log_request(e);
    return HR::Handled;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    bool streamed = false;
    Reply r = route(req, res, streamed);
    if (!streamed) put(res, r);
    Json e = log_entry(req, tcp_ ? "tcp" : "unix");
    e["status"] = r.status;
    d_.log_request(e);
  }

 private:
  Reply route(const httplib::Request& req, httplib::Response& res, bool& streamed) {
    const std::string& path = req.path;
    if (path == "/" && (req.method == "GET" || req.method == "HEAD"))
      return Reply{200, "text/html; charset=utf-8",
                   "<html><title>Tailscale</title><body><h1>Tailscale</h1>This is the local Tailscale daemon.\n"};
    if (path.rfind("/localapi/v0/", 0) != 0) return text_reply(404, "404 page not found");
    std::string ep = path.substr(13);
    if (auto f = d_.take_fault(ep)) {
      if (f->kind == "slow") {
        auto until = Clock::now() + std::chrono::milliseconds(f->ms);
        while (Clock::now() < until && !d_.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      } else if (f->kind == "403") {
        return text_reply(403, f->body.empty() ? "access denied" : f->body);
      } else if (f->kind == "500") {
        return text_reply(500, f->body.empty() ? "internal error" : f->body);
      } else if (f->kind == "garbage") {
        return json_reply(200, f->body.empty() ? "<html>this is not JSON\x01\n" : f->body);
      }
    }
    return endpoint(req, res, ep, streamed);
  }

  Reply endpoint(const httplib::Request& req, httplib::Response& res, const std::string& ep, bool& streamed) {
    const Perm perm = d_.perm();
    const bool none = perm == Perm::kNone, ro = perm != Perm::kReadWrite;
    const std::string& m = req.method;
    auto deny = [](const char* msg) { return text_reply(403, msg); };
    if (ep == "status") {
      if (none) return deny("status access denied");
      return d_.status(go_bool(req.get_param_value("peers"), true));
    }
    if (ep == "prefs") {
      if (none) return deny("prefs access denied");
      if (m == "PATCH") return ro ? deny("prefs write access denied") : d_.patch_prefs(req.body);
      if (m == "GET" || m == "HEAD") return d_.get_prefs();
      return text_reply(405, "unsupported method");
    }
    if (ep == "check-prefs") {
      if (ro) return deny("checkprefs access denied");
      if (m != "POST") return text_reply(405, "unsupported method");
      return d_.check_prefs(req.body);
    }
    if (ep == "start") {
      if (ro) return deny("access denied");
      if (m != "POST") return text_reply(400, "want POST");
      return d_.start(req.body);
    }
    if (ep == "login-interactive") {
      if (ro) return deny("login access denied");
      if (m != "POST") return text_reply(400, "want POST");
      return d_.login_interactive();
    }
    if (ep == "logout") {
      if (ro) return deny("logout access denied");
      if (m != "POST") return text_reply(400, "want POST");
      return d_.logout();
    }
    if (ep == "whois") {
      if (none) return deny("whois access denied");
      return d_.whois(req.get_param_value("addr"));
    }
    if (ep == "ping") {
      if (none) return deny("access denied");
      if (m != "POST") return text_reply(400, "want POST");
      return d_.ping(req.get_param_value("ip"), req.get_param_value("type"));
    }
    if (ep == "dns-config") {
      if (none) return deny("dns-config access denied");
      return d_.dns_config();
    }
    if (ep == "suggest-exit-node") {
      if (none) return deny("access denied");
      if (m != "GET" && m != "POST") return text_reply(405, "want POST");
      return d_.suggest_exit_node();
    }
    if (ep == "check-so-mark-in-use") {
      if (none) return deny("access denied");
      return d_.so_mark();
    }
    if (ep == "watch-ipn-bus") {
      if (none) return deny("watch ipn bus access denied");
      return watch(req, res, streamed);
    }
    return text_reply(404, "404 page not found");
  }

  Reply watch(const httplib::Request& req, httplib::Response& res, bool& streamed) {
    uint64_t mask = 0;
    std::string s = req.get_param_value("mask");
    if (!s.empty()) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), mask, 10);
      if (ec != std::errc() || p != s.data() + s.size()) return text_reply(400, "bad mask");
    }
    if (mask & 65536) return text_reply(400, "NotifyInProcessNoDisconnect is only valid for in-process IPN bus subscribers");
    if ((mask & 256) && (mask & (4096 | 8192 | 16384 | 32768)))
      return text_reply(400,
                        "NotifyRateLimit cannot be combined with NotifyPeerChanges, NotifyNoNetMap, "
                        "NotifyInitialStatus or NotifyPeerPatches");
    auto w = d_.add_watcher(mask);
    streamed = true;
    res.status = 200;
    Daemon& d = d_;
    res.set_chunked_content_provider(
        "application/json",
        [&d, w](size_t, httplib::DataSink& sink) {
          std::string line;
          for (;;) {
            switch (d.next_line(*w, line, std::chrono::milliseconds(200))) {
              case Next::kLine:
                return sink.write(line.data(), line.size());
              case Next::kCut: {
                std::string half = d.half_line();
                sink.write(half.data(), half.size());
                return false;
              }
              case Next::kClosed:
                return false;
              case Next::kIdle:
                // No heartbeat, like the daemon; a closed client is noticed here.
                if (!sink.is_writable()) return false;
                break;
            }
          }
        },
        [&d, w](bool) { d.remove_watcher(w); });
    return Reply{200, "application/json", ""};
  }

  Daemon& d_;
  const ListenOptions& o_;
  bool tcp_;
};

std::unique_ptr<httplib::Server> make_api_server(Daemon& d, const ListenOptions& o, bool tcp) {
  auto svr = std::make_unique<httplib::Server>();
  auto api = std::make_shared<Api>(d, o, tcp);
  // Each watch stream and each keep-alive connection holds a worker thread.
  svr->new_task_queue = [] { return new httplib::ThreadPool(64); };
  svr->set_keep_alive_max_count(100000);
  svr->set_keep_alive_timeout(30);
  svr->set_pre_routing_handler([api](const httplib::Request& req, httplib::Response& res) { return api->pre(req, res); });
  auto h = [api](const httplib::Request& req, httplib::Response& res) { api->handle(req, res); };
  svr->Get(".*", h);
  svr->Post(".*", h);
  svr->Put(".*", h);
  svr->Patch(".*", h);
  svr->Delete(".*", h);
  svr->Options(".*", h);
  return svr;
}

void run(httplib::Server& svr, std::thread& thr) {
  thr = std::thread([&svr] { svr.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs; wait for it so a quick go-away cannot hang.
  while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace

bool Listeners::start(std::string& err) {
  std::lock_guard lk(mu_);
  ::unlink(opts_.socket.c_str());  // a stale socket file makes bind fail
  impl_->unix_srv = make_api_server(d_, opts_, false);
  impl_->unix_srv->set_address_family(AF_UNIX);
  if (!impl_->unix_srv->bind_to_port(opts_.socket, 80)) {
    err = "cannot listen on " + opts_.socket;
    return false;
  }
  ::chmod(opts_.socket.c_str(), 0666);  // tailscaled's mode; access control is by peer credentials
  run(*impl_->unix_srv, impl_->unix_thr);
  if (opts_.tcp_port >= 0) {
    impl_->tcp_srv = make_api_server(d_, opts_, true);
    if (opts_.tcp_port == 0) {
      int p = impl_->tcp_srv->bind_to_any_port("127.0.0.1");
      if (p <= 0) {
        err = "cannot listen on 127.0.0.1";
        return false;
      }
      opts_.tcp_port = p;  // come-back reuses the same port
    } else if (!impl_->tcp_srv->bind_to_port("127.0.0.1", opts_.tcp_port)) {
      err = "cannot listen on 127.0.0.1:" + std::to_string(opts_.tcp_port);
      return false;
    }
    run(*impl_->tcp_srv, impl_->tcp_thr);
  }
  return true;
}

void Listeners::stop() {
  std::lock_guard lk(mu_);
  for (auto* p : {&impl_->unix_srv, &impl_->tcp_srv})
    if (*p) (*p)->stop();
  if (impl_->unix_thr.joinable()) impl_->unix_thr.join();
  if (impl_->tcp_thr.joinable()) impl_->tcp_thr.join();
  if (impl_->unix_srv) ::unlink(opts_.socket.c_str());
  impl_->unix_srv.reset();
  impl_->tcp_srv.reset();
}

// ---------------------------------------------------------------- control socket

struct Control::Impl {
  httplib::Server srv;
  std::thread thr;
};

Control::Control(Daemon& d) : impl_(std::make_unique<Impl>()), d_(d) {}
Control::~Control() { stop(); }

namespace {

Json param_value(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) return std::stoi(v);
  return v;
}

Json params_object(const httplib::Request& req) {
  Json o = Json::object();
  for (const auto& [k, v] : req.params) o[k] = param_value(v);
  return o;
}

// Control paths that are one action: with the query as its object, or the flag `true`.
const std::map<std::string, std::string> kQueryActions = {
    {"/peer", "peer"}, {"/peer/add", "add_peer"}, {"/go-away", "go_away"}};
const std::map<std::string, std::string> kFlagActions = {
    {"/clear-faults", "clear_faults"}, {"/cut-streams", "cut_streams"}, {"/come-back", "come_back"},
    {"/visit-auth-url", "visit_auth_url"}, {"/approve-machine", "approve_machine"}};

Reply control_route(Daemon& d, const httplib::Request& req) {
  const std::string& p = req.path;
  Json q = params_object(req);
  auto str = [&](const char* k) { return req.get_param_value(k); };
  if (req.method == "GET" && (p == "/" || p == "/state")) return json_reply(200, d.summary().dump() + "\n");
  if (req.method == "GET" && p == "/auth-url") return text_reply(200, d.summary().value("auth_url", ""));
  if (p == "/wait-watchers") {
    int n = q.value("n", 1), ms = q.value("timeout_ms", 10000);
    if (!d.wait_watchers(static_cast<size_t>(n), std::chrono::milliseconds(ms)))
      return text_reply(408, "timed out waiting for " + std::to_string(n) + " watcher(s)");
    return json_reply(200, d.summary().dump() + "\n");
  }
  Json a;
  if (p == "/action") {
    try {
      a = Json::parse(req.body);
    } catch (const Json::exception& e) {
      return text_reply(400, e.what());
    }
  } else if (p == "/state") {
    a = {{"state", str("value").empty() ? str("state") : str("value")}};
  } else if (auto with_query = kQueryActions.find(p); with_query != kQueryActions.end()) {
    a = {{with_query->second, q}};
  } else if (auto flag = kFlagActions.find(p); flag != kFlagActions.end()) {
    a = {{flag->second, true}};
  } else if (p == "/peer/remove") {
    a = {{"remove_peer", str("name")}};
  } else if (p == "/health") {
    Json list = Json::array();
    if (!req.body.empty()) {
      try {
        list = Json::parse(req.body);
      } catch (const Json::exception& e) {
        return text_reply(400, e.what());
      }
    } else {
      for (auto [it, end] = req.params.equal_range("msg"); it != end; ++it) list.push_back(it->second);
    }
    a = {{"health", list}};
  } else if (p == "/fault") {
    q["kind"] = str("kind");  // "403" must stay a string
    a = {{"fault", q}};
  } else if (p == "/permissions") {
    a = {{"permissions", str("mode")}};
  } else {
    return text_reply(404, "unknown control path " + p);
  }
  return d.apply(a);
}

}  // namespace

bool Control::start(const std::string& path, std::string& err) {
  path_ = path;
  ::unlink(path.c_str());
  auto& srv = impl_->srv;
  Daemon& d = d_;
  auto h = [&d](const httplib::Request& req, httplib::Response& res) { put(res, control_route(d, req)); };
  srv.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    assume_empty_body(req);
    return HR::Unhandled;
  });
  srv.Get(".*", h);
  srv.Post(".*", h);
  srv.Put(".*", h);
  srv.set_address_family(AF_UNIX);
  if (!srv.bind_to_port(path, 80)) {
    err = "cannot listen on " + path;
    return false;
  }
  ::chmod(path.c_str(), 0666);
  run(srv, impl_->thr);
  return true;
}

void Control::stop() {
  if (!impl_->thr.joinable()) return;
  impl_->srv.stop();
  impl_->thr.join();
  ::unlink(path_.c_str());
}

}  // namespace tb::fake
