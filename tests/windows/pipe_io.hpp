#pragma once
// Blocking pipe I/O for the test programs' servers (pipe_server.cpp, transport_test.cpp).
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <string>
#include <string_view>

namespace tb::test {

inline bool write_all(HANDLE pipe, std::string_view data) {
  while (!data.empty()) {
    DWORD n = 0;
    if (!WriteFile(pipe, data.data(), static_cast<DWORD>(data.size()), &n, nullptr)) return false;
    data.remove_prefix(n);
  }
  return true;
}

// Reads into buf until it holds a request head ("\r\n\r\n"); its end, or npos when the client
// closed first.
inline size_t read_head(HANDLE pipe, std::string& buf) {
  char tmp[4096];
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    DWORD n = 0;
    if (!ReadFile(pipe, tmp, sizeof tmp, &n, nullptr) || n == 0) return std::string::npos;
    buf.append(tmp, n);
  }
  return end;
}

}  // namespace tb::test
