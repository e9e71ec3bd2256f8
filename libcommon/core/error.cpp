#include "libcommon/core/error.hpp"

namespace tb::core {

std::string Error::line() const {
  std::string out = message;
  // An error line is one line: fold anything a daemon sent us that contains newlines.
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (!hint.empty()) out += " (" + hint + ")";
  return out;
}

}  // namespace tb::core
