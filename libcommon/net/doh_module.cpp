// sb-relay-doh.so (doh_module.hpp): the DNS over HTTPS request, cpp-httplib's SSLClient and
// OpenSSL for tls.certificate's PEM store, kept out of sb-relay's own image. What the answer means
// (parsing, labels, the protection error) stays in dns_transport.cpp.

#include "libcommon/net/doh_module.hpp"

#include <chrono>
#include <exception>

#include <httplib.h>

namespace {
// The most a DNS message can be (its length field over TCP is 16 bits); a bigger body is refused
// while it arrives, not kept.
constexpr size_t kMaxReply = 65535;
}  // namespace

extern "C" void tb_doh_post_v1(const tb::net::doh::Request* req, tb::net::doh::Response* out) noexcept {
  try {
    const auto& r = *req;
    httplib::SSLClient cli(r.host, r.port);
    if (r.host != r.connect_ip) cli.set_hostname_addr_map({{r.host, r.connect_ip}});
    if (r.socket_options) {
      auto fn = r.socket_options;
      void* ctx = r.socket_options_ctx;
      cli.set_socket_options([fn, ctx](socket_t fd) { fn(ctx, fd); });
    }
    const auto sec = static_cast<time_t>(r.timeout_ms / 1000);
    const auto usec = static_cast<time_t>(r.timeout_ms % 1000 * 1000);
    cli.set_connection_timeout(sec, usec);
    cli.set_read_timeout(sec, usec);
    cli.set_write_timeout(sec, usec);
    cli.enable_server_certificate_verification(r.verify);
    if (!r.ca_path.empty()) cli.set_ca_cert_path(r.ca_path.c_str());
    if (!r.ca_pem.empty()) {
      BIO* bio = BIO_new_mem_buf(r.ca_pem.data(), static_cast<int>(r.ca_pem.size()));
      X509_STORE* store = X509_STORE_new();
      while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, cert);
        X509_free(cert);
      }
      BIO_free(bio);
      cli.set_ca_cert_store(store);  // the client's SSL_CTX owns it from here
    }
    // timeout_ms bounds each connect, read and write, and the body as a whole: a server that
    // drips its answer a byte at a time is cut off at the deadline.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.timeout_ms);
    httplib::Request hreq;
    hreq.method = "POST";
    hreq.path = r.path;
    hreq.headers = {{"Accept", "application/dns-message"}, {"Content-Type", "application/dns-message"}};
    for (const auto& [k, v] : r.headers) hreq.headers.emplace(k, v);
    hreq.body = r.body;
    const char* stopped = nullptr;
    hreq.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (out->body.size() + n > kMaxReply) stopped = "the reply is larger than 65535 bytes, the most a DNS message can be";
      else if (std::chrono::steady_clock::now() > deadline) stopped = "timed out while the reply arrived";
      if (stopped) return false;
      out->body.append(data, n);
      return true;
    };
    httplib::Response hres;
    httplib::Error err = httplib::Error::Success;
    if (!cli.send(hreq, hres, err)) {
      out->error = stopped ? stopped : httplib::to_string(err);
      out->body.clear();
      return;
    }
    out->status = hres.status;
  } catch (const std::exception& e) {
    out->error = e.what();
  } catch (...) {
    out->error = "unknown error in sb-relay-doh.so";
  }
}
