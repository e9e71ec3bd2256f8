#pragma once
// The one call between sb-relay and sb-relay-doh.so, the module that carries DNS over HTTPS
// (doh_module.cpp). sb-relay links neither cpp-httplib nor OpenSSL: merely mapping them cost
// about 3.8 MB of private memory at idle (libcrypto 3.1 MB), for a server type most configs never
// use. dns_transport.cpp dlopen()s the module on the first DoH query and calls its one entry point.
// Both sides are built together by the same compiler and libstdc++ (one CMake tree, one package),
// so the structs carry std::string; a change to them is a new version in the symbol's name.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tb::net::doh {

// The module file, looked for beside the executable (the build tree), then in ../lib/tailbox.
inline constexpr const char* kModuleFile = "sb-relay-doh.so";

struct Request {
  std::string host;        // SNI, Host header and the name the certificate must carry
  uint16_t port = 443;
  std::string connect_ip;  // the address to connect to (resolved by sb-relay), textual
  std::string path;        // e.g. /dns-query
  std::vector<std::pair<std::string, std::string>> headers;  // besides Accept: application/dns-message
  int64_t timeout_ms = 10000;  // connect, read and write, each; and the reply's body as a whole
  bool verify = true;          // check the server's certificate and name
  std::string ca_path;         // a PEM file of trusted certificates, or empty
  std::string ca_pem;          // PEM text of trusted certificates, or empty
  std::string body;            // the DNS query (RFC 8484 §4.1), POSTed as application/dns-message
  // Everything else the connection depends on that the fields above do not say (sb-relay: the
  // server's dial fields). A kept connection is only used again for the same key and fields.
  std::string pool_key;
  // Called with each socket before connect: sb-relay protects it (dial fields), and when that
  // fails makes the descriptor one that cannot connect, so nothing goes out unprotected.
  void (*socket_options)(void* ctx, int fd) = nullptr;
  void* socket_options_ctx = nullptr;
};

struct Response {
  std::string error;  // no HTTP response: the transport's reason (httplib::to_string); else empty
  int status = 0;
  std::string body;   // at most 65535 bytes: a bigger reply is an error
};

}  // namespace tb::net::doh

extern "C" {
// One blocking POST, on a connection kept from an earlier one when there is one. Never throws: a
// failure is `out->error`. (The module is built with hidden visibility; this is the one symbol it
// exports.)
__attribute__((visibility("default"))) void tb_doh_post_v2(const tb::net::doh::Request* req, tb::net::doh::Response* out) noexcept;
}

namespace tb::net::doh {
inline constexpr const char* kEntrySymbol = "tb_doh_post_v2";
using PostFn = void (*)(const Request*, Response*) noexcept;
}  // namespace tb::net::doh
