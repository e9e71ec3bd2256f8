#pragma once
// A Transport for the unit tests: records requests, replays canned replies, and streams the same
// lines on every watch.

#include <deque>
#include <string>
#include <vector>

#include "libcommon/tailscale/transport.hpp"

namespace tb::ts {

// Records requests and replays canned replies.
class FakeTransport : public Transport {
 public:
  struct Call {
    std::string method, path, body;
  };
  std::vector<Call>* calls;
  std::deque<core::Result<HttpResponse>> replies;
  std::vector<std::string> stream_lines;
  core::Result<int> stream_result = 200;
  Endpoint ep;

  explicit FakeTransport(std::vector<Call>* c) : calls(c) {}
  core::Result<HttpResponse> request(std::string_view method, std::string_view path, std::string_view body,
                                     std::chrono::milliseconds) override {
    calls->push_back({std::string(method), std::string(path), std::string(body)});
    if (replies.empty()) return core::fail(core::ExitCode::kInternal, "no canned reply");
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
  core::Result<int> stream(std::string_view path, const std::function<bool(std::string_view)>& on_line,
                           std::chrono::milliseconds, std::chrono::milliseconds, std::string* error_body) override {
    calls->push_back({"GET", std::string(path), ""});
    for (const auto& l : stream_lines) {
      if (!on_line(l)) return 200;
    }
    if (stream_result && *stream_result != 200) *error_body = "watch ipn bus access denied\n";
    return stream_result;
  }
  void cancel() override {}
  const Endpoint& endpoint() const override { return ep; }
};

}  // namespace tb::ts
