// sb-relay-doh.so (doh_module.hpp): the DNS over HTTPS request, cpp-httplib's SSLClient and
// OpenSSL for tls.certificate's PEM store, kept out of sb-relay's own image. What the answer means
// (parsing, labels, the protection error) stays in dns_transport.cpp.
//
// Connections are kept between queries, as sing-box's https transport keeps them (Go's
// http.Transport): a lookup after the first costs one round trip, not a TCP and a TLS handshake.

#include "libcommon/net/doh_module.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include <httplib.h>

namespace {
using Clock = std::chrono::steady_clock;

// The most a DNS message can be (its length field over TCP is 16 bits); a bigger body is refused
// while it arrives, not kept.
constexpr size_t kMaxReply = 65535;
// Idle connections kept per server: Go's http.Transport keeps 2 per host
// (DefaultMaxIdleConnsPerHost), sing-box's HTTP/1.1 DoH transport among them; sb-relay asks A and
// AAAA at once, so each has one.
constexpr size_t kMaxIdlePerKey = 2;
// An idle connection is closed by the first DoH query after this long (Go's
// http.DefaultTransport's IdleConnTimeout; sing-box sets none and waits for the server to close).
constexpr auto kMaxIdle = std::chrono::seconds(90);
// A kept connection that fails sooner than this (the server closed it as the query went out) is
// replaced once by a new one: a DNS query is safe to send twice.
constexpr auto kQuickFailure = std::chrono::seconds(1);

using Client = std::unique_ptr<httplib::SSLClient>;

struct Idle {
  std::string key;
  Client client;
  Clock::time_point since;
};

// The kept connections, in the order they were put back. Never destroyed: a worker thread may
// still be in here when the process exits.
struct Pool {
  std::mutex mu;
  std::vector<Idle> idle;
};
Pool& pool() {
  static auto* p = new Pool;
  return *p;
}

// Moves out of the pool, into `out`, every client idle for over kMaxIdle and, when `key` is given,
// every client kept for it. The caller closes them after the lock (closing says close_notify).
void remove_locked(Pool& p, const std::string* key, std::vector<Client>& out) {
  const auto now = Clock::now();
  for (auto it = p.idle.begin(); it != p.idle.end();) {
    if (now - it->since > kMaxIdle || (key != nullptr && it->key == *key)) {
      out.push_back(std::move(it->client));
      it = p.idle.erase(it);
    } else {
      ++it;
    }
  }
}

// The most recently kept client for key, if any. Every pool operation also closes the clients
// idle for too long, so those of a server no longer asked go at the next DoH query of any server.
Client take(const std::string& key) {
  std::vector<Client> expired;
  Client got;
  auto& p = pool();
  std::lock_guard lock(p.mu);
  remove_locked(p, nullptr, expired);
  for (auto it = p.idle.rbegin(); it != p.idle.rend(); ++it)
    if (it->key == key) {
      got = std::move(it->client);
      p.idle.erase(std::next(it).base());
      break;
    }
  return got;  // `lock` goes before `expired`: they are closed outside it
}

void put_back(const std::string& key, Client client) {
  if (!client->is_socket_open()) return;  // the server said Connection: close
  // Its socket options callback points into this query's caller: no later query may call it.
  client->set_socket_options(nullptr);
  std::vector<Client> expired;
  auto& p = pool();
  std::lock_guard lock(p.mu);
  remove_locked(p, nullptr, expired);
  size_t n = 0;
  for (const auto& i : p.idle) n += i.key == key;
  // More were in flight at once than are kept: this one is closed when `client` goes, after the
  // lock.
  if (n < kMaxIdlePerKey) p.idle.push_back(Idle{key, std::move(client), Clock::now()});
}

// After a failure the others kept for the same server are let go too, as sing-box's transport
// starts afresh after a time-out: they most likely went the same way.
void drop(const std::string& key) {
  std::vector<Client> gone;
  auto& p = pool();
  std::lock_guard lock(p.mu);
  remove_locked(p, &key, gone);
}

std::string key_of(const tb::net::doh::Request& r) {
  std::string k;
  for (const auto* part : {&r.host, &r.connect_ip, &r.ca_path, &r.ca_pem, &r.pool_key}) {
    k += std::to_string(part->size());  // length-prefixed: no field can pose as another
    k += ':';
    k += *part;
  }
  k += std::to_string(r.port);
  k += r.verify ? "v" : "n";
  return k;
}

Client new_client(const tb::net::doh::Request& r) {
  auto cli = std::make_unique<httplib::SSLClient>(r.host, r.port);
  if (r.host != r.connect_ip) cli->set_hostname_addr_map({{r.host, r.connect_ip}});
  const auto sec = static_cast<time_t>(r.timeout_ms / 1000);
  const auto usec = static_cast<time_t>(r.timeout_ms % 1000 * 1000);
  cli->set_connection_timeout(sec, usec);
  cli->set_read_timeout(sec, usec);
  cli->set_write_timeout(sec, usec);
  cli->set_keep_alive(true);
  // A kept connection's request goes out as headers then body: with Nagle the body would wait for
  // the delayed ACK of the headers, 40 ms a query. Go sets TCP_NODELAY on every TCP connection.
  cli->set_tcp_nodelay(true);
  cli->enable_server_certificate_verification(r.verify);
  if (!r.ca_path.empty()) cli->set_ca_cert_path(r.ca_path.c_str());
  if (!r.ca_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(r.ca_pem.data(), static_cast<int>(r.ca_pem.size()));
    X509_STORE* store = X509_STORE_new();
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);
      X509_free(cert);
    }
    BIO_free(bio);
    cli->set_ca_cert_store(store);  // the client's SSL_CTX owns it from here
  }
  return cli;
}
}  // namespace

extern "C" void tb_doh_post_v2(const tb::net::doh::Request* req, tb::net::doh::Response* out) noexcept {
  try {
    const auto& r = *req;
    const std::string key = key_of(r);
    // timeout_ms bounds each connect, read and write, and the body as a whole: a server that
    // drips its answer a byte at a time is cut off at the deadline.
    const auto deadline = Clock::now() + std::chrono::milliseconds(r.timeout_ms);
    httplib::Request hreq;
    hreq.method = "POST";
    hreq.path = r.path;
    hreq.headers = {{"Accept", "application/dns-message"}, {"Content-Type", "application/dns-message"}};
    for (const auto& [k, v] : r.headers) hreq.headers.emplace(k, v);
    hreq.body = r.body;
    const char* stopped = nullptr;
    hreq.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (out->body.size() + n > kMaxReply) stopped = "the reply is larger than 65535 bytes, the most a DNS message can be";
      else if (Clock::now() > deadline) stopped = "timed out while the reply arrived";
      if (stopped) return false;
      out->body.append(data, n);
      return true;
    };
    Client cli = take(key);
    for (bool kept = cli != nullptr;; kept = false) {
      if (!cli) cli = new_client(r);
      // The socket a kept client opens anew (the server closed the old one) is this query's to
      // protect: the callback and its context are set for every query.
      if (r.socket_options) {
        auto fn = r.socket_options;
        void* ctx = r.socket_options_ctx;
        cli->set_socket_options([fn, ctx](socket_t fd) { fn(ctx, fd); });
      } else {
        cli->set_socket_options(nullptr);
      }
      out->body.clear();
      const auto sent = Clock::now();
      httplib::Response hres;
      httplib::Error err = httplib::Error::Success;
      if (cli->send(hreq, hres, err)) {
        out->status = hres.status;
        if (hres.status == 200) put_back(key, std::move(cli));
        return;
      }
      if (kept && !stopped && Clock::now() - sent < kQuickFailure) {
        cli.reset();  // once more, on a new connection
        continue;
      }
      drop(key);
      out->error = stopped ? stopped : httplib::to_string(err);
      out->body.clear();
      return;
    }
  } catch (const std::exception& e) {
    out->error = e.what();
  } catch (...) {
    out->error = "unknown error in sb-relay-doh.so";
  }
}
