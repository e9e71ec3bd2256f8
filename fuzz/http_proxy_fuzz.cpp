// HTTP proxy request heads of sb-relay's mixed inbound (CONNECT and absolute-URI forwards), and the
// response heads read back from origin servers. Invariants: `used` within the input and the head
// limit; a refusal carries its status ("400 …"); the same answer on exactly `used` bytes and never
// "done" one byte short; a parsed head re-serialises to a head that parses the same; the
// origin-form request sent upstream is one well-formed head (CRLF line ends only, nothing after
// its blank line); Basic credentials survive base64 and back; a response's body framing
// (response_body, what the relay streams by) agrees with its head.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "libcommon/core/strings.hpp"
#include "libcommon/net/http_proxy.hpp"

namespace http = tb::net::http;
using tb::net::Bytes;
using tb::net::ParseStatus;

namespace {

Bytes as_bytes(const std::string& s) { return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// CR and LF only as CRLF pairs, and the first blank line at the very end.
bool one_clean_head(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  auto blank = s.find("\r\n\r\n");
  return blank != std::string::npos && blank + 4 == s.size();
}

bool same_headers(const std::vector<http::Header>& a, const std::vector<http::Header>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  return true;
}

void request(Bytes in) {
  auto p = http::parse_request_head(in);
  if (p.status == ParseStatus::kBad) {
    FUZZ_CHECK(p.error.size() >= 4 && p.error[3] == ' ');
    FUZZ_CHECK(p.error[0] >= '1' && p.error[0] <= '5');
    return;
  }
  if (p.status != ParseStatus::kDone) return;
  const auto& r = p.value;
  FUZZ_CHECK(p.used <= in.size() && p.used <= http::kMaxHead);
  auto exact = http::parse_request_head(in.first(p.used));
  FUZZ_CHECK(exact.ok() && exact.used == p.used);
  FUZZ_CHECK(http::parse_request_head(in.first(p.used - 1)).status != ParseStatus::kDone);
  FUZZ_CHECK(!r.destination.host.empty() && r.destination.port != 0);
  FUZZ_CHECK(r.connect || (!r.path.empty() && r.path.front() == '/'));

  std::string again = r.method + " " + r.target + " " + r.version + "\r\n";
  for (const auto& h : r.headers) again += h.name + ": " + h.value + "\r\n";
  again += "\r\n";
  if (again.size() <= http::kMaxHead) {
    auto back = http::parse_request_head(as_bytes(again));
    FUZZ_CHECK(back.ok() && back.used == again.size());
    FUZZ_CHECK(back.value.method == r.method && back.value.target == r.target && back.value.version == r.version);
    FUZZ_CHECK(back.value.destination == r.destination && back.value.path == r.path);
    FUZZ_CHECK(same_headers(back.value.headers, r.headers));
  }

  (void)http::wants_keep_alive(r);
  auto framing = http::request_framing(r);
  FUZZ_CHECK(!(framing.chunked && framing.length));
  if (!r.connect) FUZZ_CHECK(one_clean_head(http::origin_request(r)));
  if (const auto* auth = r.find("Proxy-Authorization")) {
    if (auto up = http::parse_basic_auth(*auth)) {
      auto back = http::parse_basic_auth("Basic " + tb::core::base64_encode(up->first + ":" + up->second));
      FUZZ_CHECK(back && *back == *up);
    }
  }
}

void response(Bytes in) {
  auto p = http::parse_response_head(in);
  if (!p.ok()) return;
  const auto& r = p.value;
  FUZZ_CHECK(p.used <= in.size());
  FUZZ_CHECK(r.status >= 0 && r.status <= 999);
  // Body framing as the relay streams it: a HEAD answer and 204/304 never carry one; a length is
  // never 0; chunked only when Transfer-Encoding says so.
  using Kind = http::ResponseBody::Kind;
  for (std::string_view method : {"GET", "HEAD", "CONNECT", "POST"}) {
    auto body = http::response_body(r, method);
    if (method == "HEAD" || r.status == 204 || r.status == 304) FUZZ_CHECK(body.kind == Kind::kNone);
    FUZZ_CHECK((body.kind == Kind::kLength) == (body.length > 0));
    if (body.kind == Kind::kChunked) FUZZ_CHECK(r.find("Transfer-Encoding") != nullptr);
    if (body.kind == Kind::kLength) FUZZ_CHECK(r.find("Content-Length") && !r.find("Transfer-Encoding"));
  }
  std::string text = http::response_head_text(r, true);
  FUZZ_CHECK(one_clean_head(text));
  auto back = http::parse_response_head(as_bytes(text));
  FUZZ_CHECK(back.ok() && back.value.status == r.status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  request(in);
  response(in);
  // The auth decoder on raw bytes too: it sees header values straight from the client.
  (void)http::parse_basic_auth(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
