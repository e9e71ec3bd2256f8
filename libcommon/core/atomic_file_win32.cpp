#include "libcommon/core/atomic_file.hpp"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <algorithm>
#include <system_error>

namespace tb::core {

// The path is in the ANSI code page, as argv is: the ...A functions take it as it came.
Result<void> write_file_atomic(const std::string& path, std::string_view content) {
  auto io_fail = [&](const char* what, DWORD err) {
    return fail(ExitCode::kIoErr,
                std::string(what) + " " + path + ": " + std::system_category().message(static_cast<int>(err)));
  };
  // Beside the target: a rename within one volume replaces it in one step.
  std::string tmp = path + ".tmp." + std::to_string(GetCurrentProcessId());
  HANDLE h = CreateFileA(tmp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return io_fail("cannot create a temporary file for", GetLastError());
  bool ok = true;
  while (ok && !content.empty()) {
    DWORD n = 0;
    ok = WriteFile(h, content.data(), static_cast<DWORD>(std::min<size_t>(content.size(), 1 << 30)), &n, nullptr);
    content.remove_prefix(n);
  }
  ok = ok && FlushFileBuffers(h);
  DWORD err = ok ? 0 : GetLastError();
  CloseHandle(h);
  if (ok && !MoveFileExA(tmp.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    err = GetLastError();
    DeleteFileA(tmp.c_str());
    return io_fail("cannot rename into", err);
  }
  if (!ok) {
    DeleteFileA(tmp.c_str());
    return io_fail("cannot write", err);
  }
  return {};
}

}  // namespace tb::core
