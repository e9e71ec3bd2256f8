#include "libcommon/core/tool.hpp"

#include <exception>
#include <string>

#include "libcommon/core/exit_code.hpp"
#include "libcommon/core/output.hpp"

namespace tb::core {

int run_guarded(std::string_view tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    print_error_line(tool, std::string("internal error: ") + e.what());
    return to_int(ExitCode::kInternal);
  }
}

}  // namespace tb::core
