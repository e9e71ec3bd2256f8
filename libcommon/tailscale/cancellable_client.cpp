#include "libcommon/tailscale/cancellable_client.hpp"

#include "libcommon/core/process.hpp"

namespace tb::ts {

CancellableClient::CancellableClient(const std::string& socket_flag, std::chrono::milliseconds timeout) {
  ClientOptions opts;
  opts.timeout = timeout;
  api_ = connect_local_api(socket_flag, opts);
  LocalApiClient* raw = api_.get();
  handle_ = core::on_interrupt([raw] { raw->cancel(); });
}

CancellableClient::~CancellableClient() { core::remove_on_interrupt(handle_); }

}  // namespace tb::ts
