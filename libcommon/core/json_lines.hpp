#pragma once
// JSON Lines input: the one reader for sb-route's decide and plan, sb-relay's plan stream and
// status files. Lines are numbered from 1; blank lines are skipped; what happens to a line that is
// not a JSON object is the caller's policy, passed in.

#include <atomic>
#include <cstddef>
#include <functional>
#include <istream>
#include <optional>

#include "libcommon/core/error.hpp"
#include "libcommon/core/json.hpp"

namespace tb::core {

struct JsonLine {
  size_t number = 0;  // 1-based line number in the stream
  Json value;         // always a JSON object
};

// Called for each line that is not a JSON object, with its number and an error (kDataErr, message
// "not a JSON object" or "nested deeper than 512 levels"). The line is then skipped.
using BadLineHandler = std::function<void(size_t number, const Error& error)>;

// The policy of readers that pass over bad lines without a word.
inline void skip_bad_line(size_t /*number*/, const Error& /*error*/) {}

// What SIGINT/SIGTERM do to a reader.
enum class InterruptPolicy {
  kIgnore,  // nothing: the reader reads on (whoever handles the interrupt ends the process)
  // A blocked read never observes the interrupt flag, so while next() waits for a line the process
  // exits at once (130). While the caller handles a line (its output may be half written), the
  // interrupt only ends the stream: the following next() returns nullopt.
  kExitWhileWaiting,
};

class JsonLinesReader {
 public:
  JsonLinesReader(std::istream& in, BadLineHandler on_bad_line, InterruptPolicy policy = InterruptPolicy::kIgnore);
  ~JsonLinesReader();
  JsonLinesReader(const JsonLinesReader&) = delete;
  JsonLinesReader& operator=(const JsonLinesReader&) = delete;

  // The next JSON object, or nullopt at the end of input (or after an interrupt, see above).
  std::optional<JsonLine> next();

  void set_interrupt_policy(InterruptPolicy policy);
  void set_bad_line_handler(BadLineHandler on_bad_line) { on_bad_line_ = std::move(on_bad_line); }
  size_t lines_read() const { return line_; }
  size_t bad_lines() const { return bad_; }

 private:
  std::istream& in_;
  BadLineHandler on_bad_line_;
  InterruptPolicy policy_ = InterruptPolicy::kIgnore;
  int interrupt_handle_ = 0;
  std::atomic<bool> waiting_{false};
  size_t line_ = 0;
  size_t bad_ = 0;
};

// One line as the reader judges it: nullopt for a blank line, a JSON object, or an error
// ("not a JSON object", "nested deeper than 512 levels"). For readers that get lines one by one.
std::optional<Result<Json>> parse_json_line(std::string_view line);

}  // namespace tb::core
