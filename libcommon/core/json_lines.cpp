#include "libcommon/core/json_lines.hpp"

#include <cstdlib>
#include <string>

#include "libcommon/core/process.hpp"

namespace tb::core {

std::optional<Result<Json>> parse_json_line(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;
  if (nests_deeper_than(line))
    return fail(ExitCode::kDataErr, "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  Json j = parse_or_discarded(line);
  if (j.is_discarded() || !j.is_object()) return fail(ExitCode::kDataErr, "not a JSON object");
  return Result<Json>(std::move(j));
}

JsonLinesReader::JsonLinesReader(std::istream& in, BadLineHandler on_bad_line, InterruptPolicy policy)
    : in_(in), on_bad_line_(std::move(on_bad_line)) {
  set_interrupt_policy(policy);
}

JsonLinesReader::~JsonLinesReader() { set_interrupt_policy(InterruptPolicy::kIgnore); }

void JsonLinesReader::set_interrupt_policy(InterruptPolicy policy) {
  if (policy == policy_) return;
  policy_ = policy;
  if (policy == InterruptPolicy::kIgnore) {
    remove_on_interrupt(interrupt_handle_);  // returns once the callback cannot run any more
    interrupt_handle_ = 0;
    return;
  }
  interrupt_handle_ = on_interrupt([this] {
    if (waiting_.load()) std::_Exit(to_int(ExitCode::kInterrupted));
  });
}

std::optional<JsonLine> JsonLinesReader::next() {
  std::string line;
  for (;;) {
    // waiting_ is set before the flag is checked: an interrupt either finds it set (and exits) or
    // came earlier and is seen here.
    waiting_ = true;
    bool stop = policy_ == InterruptPolicy::kExitWhileWaiting && interrupted();
    bool got = !stop && static_cast<bool>(std::getline(in_, line));
    waiting_ = false;
    if (!got) return std::nullopt;
    ++line_;
    auto parsed = parse_json_line(line);
    if (!parsed) continue;  // blank
    if (*parsed) return JsonLine{line_, std::move(**parsed)};
    ++bad_;
    if (on_bad_line_) on_bad_line_(line_, parsed->error());
  }
}

}  // namespace tb::core
