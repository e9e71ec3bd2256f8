#pragma once
// Errors are values: tl::expected<T, Error>. Exceptions exist only at the edge (main's one guard).

#include <string>
#include <tl/expected.hpp>

#include "libcommon/core/exit_code.hpp"

namespace tb::core {

struct Error {
  ExitCode code = ExitCode::kInternal;
  std::string message;  // one line, no trailing newline, never a secret
  std::string hint;     // optional: what the user can do about it

  // "message" or "message (hint)" — the one stderr line a tool prints.
  std::string line() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ExitCode code, std::string message, std::string hint = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(hint)});
}

}  // namespace tb::core
