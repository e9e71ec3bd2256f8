#pragma once
// Terminal decisions: colour only for people. NO_COLOR (non-empty) wins over everything, then
// --color=never|always, then CLICOLOR_FORCE/FORCE_COLOR, then isatty and TERM!=dumb. JSON is never coloured.

#include <string>
#include <string_view>

namespace tb::core {

enum class ColorMode { kAuto, kNever, kAlways };

bool is_terminal(int fd);
bool use_color(int fd, ColorMode mode = ColorMode::kAuto);

// Wraps text in an SGR colour when enabled ("31" red, "32" green, "33" yellow, "2" dim).
std::string paint(bool enabled, std::string_view sgr, std::string_view text);

}  // namespace tb::core
