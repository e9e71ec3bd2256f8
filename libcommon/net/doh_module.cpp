// sb-relay-doh.so (doh_module.hpp): the DNS over HTTPS request, cpp-httplib's SSLClient and
// OpenSSL for tls.certificate's PEM store, kept out of sb-relay's own image. What the answer means
// (parsing, labels, the protection error) stays in dns_transport.cpp.

#include "libcommon/net/doh_module.hpp"

#include <exception>

#include <httplib.h>

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
    httplib::Headers headers{{"Accept", "application/dns-message"}};
    for (const auto& [k, v] : r.headers) headers.emplace(k, v);
    httplib::Result res = cli.Post(r.path.c_str(), headers, r.body, "application/dns-message");
    if (!res) {
      out->error = httplib::to_string(res.error());
      return;
    }
    out->status = res->status;
    out->body = std::move(res->body);
  } catch (const std::exception& e) {
    out->error = e.what();
  } catch (...) {
    out->error = "unknown error in sb-relay-doh.so";
  }
}
