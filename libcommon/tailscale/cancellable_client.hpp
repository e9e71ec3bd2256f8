#pragma once
// A LocalApiClient that SIGINT/SIGTERM cancel: the call in progress returns kInterrupted, and the
// tool then exits 130. The interrupt hook is removed with the client, so a late signal never
// reaches a destroyed one.

#include <chrono>
#include <memory>
#include <string>

#include "libcommon/tailscale/localapi_client.hpp"

namespace tb::ts {

class CancellableClient {
 public:
  CancellableClient(const std::string& socket_flag, std::chrono::milliseconds timeout);
  ~CancellableClient();
  CancellableClient(const CancellableClient&) = delete;
  CancellableClient& operator=(const CancellableClient&) = delete;

  LocalApiClient* operator->() { return api_.get(); }
  LocalApiClient& api() { return *api_; }

 private:
  std::unique_ptr<LocalApiClient> api_;
  int handle_ = 0;
};

}  // namespace tb::ts
