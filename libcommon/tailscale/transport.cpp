#include "libcommon/tailscale/transport.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

#include "libcommon/core/strings.hpp"
#include "libcommon/tailscale/transport_internal.hpp"

// What every platform's transport shares, and HTTP/1.1 over a byte stream (the named pipe has no
// cpp-httplib underneath). make_transport is in the platform's file: transport_posix.cpp or
// transport_win32.cpp.

namespace tb::ts::detail {

using core::ExitCode;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Shared by the platform transports

Clock::time_point deadline_after(milliseconds d) {
  if (d.count() < 0) d = milliseconds(0);
  if (d > std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + d;
}

core::Error interrupted() { return core::Error{ExitCode::kInterrupted, "interrupted", {}}; }

core::Error no_answer(milliseconds timeout) {
  return core::Error{ExitCode::kTimeout, "tailscaled did not answer within " + format_duration(timeout), {}};
}

core::Error stream_idle(milliseconds idle) {
  return core::Error{ExitCode::kTimeout, "tailscaled sent nothing for " + format_duration(idle), {}};
}

core::Error stream_closed() { return core::Error{ExitCode::kUnavailable, "tailscaled closed the stream", {}}; }

std::string running_hint(const Endpoint& ep) {
  switch (ep.kind) {
    case Endpoint::Kind::kTcp:
      return "is the Tailscale app running?";
    case Endpoint::Kind::kPipe:
      return "is the Tailscale service running?";
    case Endpoint::Kind::kUnix:
      break;
  }
  if (current_platform() == Platform::kLinux) return "is tailscaled running? try: sudo systemctl start tailscaled";
  return "is tailscaled running?";
}

HttpResponse to_response(int status, std::string body, const std::map<std::string, std::string>& lower_headers) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = lower_headers;
  return r;
}

CallGuard::CallGuard(bool cancelled, std::mutex& mu, std::atomic<std::thread::id>& owner) : owner_(owner) {
  if (cancelled) {
    error_ = interrupted();
  } else if (owner_.load() == std::this_thread::get_id()) {
    error_ = core::Error{ExitCode::kInternal, "Local API transport used from inside its own stream callback", {}};
  } else {
    lock_ = std::unique_lock<std::mutex>(mu);
    owner_.store(std::this_thread::get_id());
  }
}

CallGuard::~CallGuard() {
  if (lock_.owns_lock()) owner_.store(std::thread::id());
}

namespace {

class UnsupportedTransport final : public Transport {
 public:
  UnsupportedTransport(Endpoint ep, std::string why) : ep_(std::move(ep)), why_(std::move(why)) {}
  core::Result<HttpResponse> request(std::string_view, std::string_view, std::string_view, milliseconds) override {
    return tl::unexpected(error());
  }
  core::Result<int> stream(std::string_view, const std::function<bool(std::string_view)>&, milliseconds, milliseconds,
                           std::string*) override {
    return tl::unexpected(error());
  }
  void cancel() override {}
  const Endpoint& endpoint() const override { return ep_; }

 private:
  core::Error error() const { return core::Error{ExitCode::kUnavailable, why_, {}}; }
  Endpoint ep_;
  std::string why_;
};

}  // namespace

std::unique_ptr<Transport> make_unsupported_transport(const Endpoint& endpoint, std::string why) {
  return std::make_unique<UnsupportedTransport>(endpoint, std::move(why));
}

// ---------------------------------------------------------------------------------------------
// Small pure pieces

bool LineSplitter::feed(std::string_view data, const std::function<bool(std::string_view line)>& on_line) {
  buf_.append(data);
  bool keep_going = true;
  while (true) {
    size_t nl = buf_.find('\n', scan_);
    if (nl == std::string::npos) {
      scan_ = buf_.size();
      break;
    }
    std::string_view line(buf_.data() + start_, nl - start_);
    start_ = nl + 1;
    scan_ = start_;
    if (!on_line(line)) {
      keep_going = false;
      break;
    }
  }
  // Drop delivered lines so the buffer only ever holds the incomplete tail.
  if (start_ > 0) {
    buf_.erase(0, start_);
    scan_ -= start_;
    start_ = 0;
  }
  return keep_going;
}

std::string format_request(std::string_view method, std::string_view target, const HeaderList& headers,
                           std::string_view body) {
  std::string out;
  out.reserve(128 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  for (const auto& [name, value] : headers) out.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

namespace {

// HTTP's optional white space, and the '\r' of a line that ended "\r\n".
constexpr std::string_view kOws = " \t\r";

// Where the head ends: {length of the head without the blank line, offset of the body}.
std::optional<std::pair<size_t, size_t>> find_head_end(std::string_view buf) {
  for (size_t nl = buf.find('\n'); nl != std::string_view::npos; nl = buf.find('\n', nl + 1)) {
    if (nl + 1 < buf.size() && buf[nl + 1] == '\n') return std::make_pair(nl + 1, nl + 2);
    if (nl + 2 < buf.size() && buf[nl + 1] == '\r' && buf[nl + 2] == '\n') return std::make_pair(nl + 1, nl + 3);
  }
  return std::nullopt;
}

core::Error protocol_error(std::string msg) { return core::Error{ExitCode::kProtocol, std::move(msg), {}}; }

}  // namespace

std::optional<ResponseHead> parse_response_head(std::string_view head) {
  ResponseHead out;
  bool first = true;
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      first = false;
      // "HTTP/1.1 200 OK": the reason phrase is optional and ignored.
      if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return std::nullopt;
      if (line.size() > 12 && line[12] != ' ') return std::nullopt;
      int status = 0;
      auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
      if (ec != std::errc() || end != line.data() + 12 || status < 100) return std::nullopt;
      out.status = status;
      continue;
    }
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
    std::string key = core::lower(name);
    std::string value(core::trim(line.substr(colon + 1), kOws));
    auto [it, inserted] = out.headers.emplace(key, value);
    if (!inserted) it->second += ", " + value;
  }
  if (first) return std::nullopt;
  return out;
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view data, const std::function<bool(std::string_view)>& sink,
                                            size_t* consumed) {
  // A chunk-size line or trailer longer than this is not an honest peer.
  constexpr size_t kMaxLine = 8192;
  size_t i = 0;
  auto done = [&](Status s) {
    if (consumed) *consumed = i;
    return s;
  };
  while (i < data.size() && state_ != State::kDone) {
    if (state_ == State::kData) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - i));
      if (!sink(data.substr(i, n))) return done(Status::kStopped);
      i += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::kDataEnd;
      continue;
    }
    size_t nl = data.find('\n', i);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    line_.append(data.substr(i, end - i));
    if (line_.size() > kMaxLine) return done(Status::kError);
    if (nl == std::string_view::npos) {
      i = data.size();
      break;
    }
    i = nl + 1;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    std::string text = std::move(line_);
    line_.clear();
    switch (state_) {
      case State::kSize: {
        std::string_view size = core::trim(std::string_view(text).substr(0, text.find(';')), kOws);
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), n, 16);
        if (size.empty() || ec != std::errc() || p != size.data() + size.size()) return done(Status::kError);
        remaining_ = n;
        state_ = n == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kDataEnd:
        if (!text.empty()) return done(Status::kError);
        state_ = State::kSize;
        break;
      case State::kTrailer:
        if (text.empty()) state_ = State::kDone;
        break;
      case State::kData:
      case State::kDone:
        break;
    }
  }
  return done(state_ == State::kDone ? Status::kDone : Status::kMore);
}

namespace {

constexpr const char* kTruncated = "tailscaled closed the connection in the middle of a reply";

// Reads a ByteStream into one buffer; a returned view holds until the next read. Empty at the end.
class Reader {
 public:
  explicit Reader(ByteStream& stream) : stream_(stream) {}
  core::Result<std::string_view> more() {
    auto n = stream_.read_some(buf_, sizeof buf_);
    if (!n) return tl::unexpected(n.error());
    return std::string_view(buf_, *n);
  }

 private:
  ByteStream& stream_;
  char buf_[16 * 1024];
};

// The head, and the buffer it came in, whose bytes from body_at on are the body's first.
struct HeadRead {
  ResponseHead head;
  std::string buf;
  size_t body_at = 0;
};

core::Result<HeadRead> read_head(Reader& in) {
  constexpr size_t kMaxHead = 64 * 1024;
  std::string buf;
  std::optional<std::pair<size_t, size_t>> end;
  while (!(end = find_head_end(buf))) {
    if (buf.size() > kMaxHead) return tl::unexpected(protocol_error("tailscaled sent an oversized HTTP reply head"));
    auto more = in.more();
    if (!more) return tl::unexpected(more.error());
    if (more->empty()) {
      return tl::unexpected(protocol_error(buf.empty() ? "tailscaled closed the connection without answering"
                                                       : kTruncated));
    }
    buf.append(*more);
  }
  auto head = parse_response_head(std::string_view(buf).substr(0, end->first));
  if (!head) return tl::unexpected(protocol_error("tailscaled sent an invalid HTTP reply"));
  return HeadRead{std::move(*head), std::move(buf), end->second};
}

// The three ways a body is framed. Each starts with the bytes that came with the head and says
// whether on_body stopped the reply early.
using BodySink = std::function<bool(std::string_view)>;

core::Result<bool> read_chunked(Reader& in, std::string_view rest, const BodySink& on_body) {
  ChunkedDecoder dec;
  auto st = dec.feed(rest, on_body);
  while (st == ChunkedDecoder::Status::kMore) {
    auto more = in.more();
    if (!more) return tl::unexpected(more.error());
    if (more->empty()) return tl::unexpected(protocol_error(kTruncated));
    st = dec.feed(*more, on_body);
  }
  if (st == ChunkedDecoder::Status::kError) return tl::unexpected(protocol_error("tailscaled sent invalid chunked data"));
  return st == ChunkedDecoder::Status::kStopped;
}

core::Result<bool> read_sized(Reader& in, std::string_view rest, std::string_view content_length,
                              const BodySink& on_body) {
  uint64_t remaining = 0;
  const char* end = content_length.data() + content_length.size();
  auto [p, ec] = std::from_chars(content_length.data(), end, remaining);
  if (ec != std::errc() || p != end) return tl::unexpected(protocol_error("tailscaled sent an invalid Content-Length"));
  while (true) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(remaining, rest.size()));
    if (n > 0 && !on_body(rest.substr(0, n))) return true;
    remaining -= n;
    if (remaining == 0) return false;
    auto more = in.more();
    if (!more) return tl::unexpected(more.error());
    if (more->empty()) return tl::unexpected(protocol_error(kTruncated));
    rest = *more;
  }
}

core::Result<bool> read_to_eof(Reader& in, std::string_view rest, const BodySink& on_body) {
  while (true) {
    if (!rest.empty() && !on_body(rest)) return true;
    auto more = in.more();
    if (!more) return tl::unexpected(more.error());
    if (more->empty()) return false;
    rest = *more;
  }
}

}  // namespace

core::Result<Exchange> http_exchange(ByteStream& stream, std::string_view method, std::string_view request_bytes,
                                     const std::function<void(const ResponseHead&)>& on_head,
                                     const std::function<bool(std::string_view)>& on_body) {
  if (auto w = stream.write_all(request_bytes); !w) return tl::unexpected(w.error());
  Reader in(stream);
  auto got = read_head(in);
  if (!got) return tl::unexpected(got.error());

  Exchange ex;
  ex.head = std::move(got->head);
  if (on_head) on_head(ex.head);
  auto header = [&](const char* name) {
    auto it = ex.head.headers.find(name);
    return it == ex.head.headers.end() ? std::string() : core::lower(it->second);
  };
  ex.keep_alive = header("connection").find("close") == std::string::npos;
  int status = ex.head.status;
  if (method == "HEAD" || status / 100 == 1 || status == 204 || status == 304) return ex;

  std::string_view rest = std::string_view(got->buf).substr(got->body_at);
  core::Result<bool> stopped;
  if (header("transfer-encoding").find("chunked") != std::string::npos) {
    stopped = read_chunked(in, rest, on_body);
  } else if (std::string cl = header("content-length"); !cl.empty()) {
    stopped = read_sized(in, rest, cl, on_body);
  } else {
    ex.keep_alive = false;  // no framing: the body runs to the end of the connection
    stopped = read_to_eof(in, rest, on_body);
  }
  if (!stopped) return tl::unexpected(stopped.error());
  if (*stopped) {
    ex.stopped = true;
    ex.keep_alive = false;
  }
  return ex;
}

}  // namespace tb::ts::detail
