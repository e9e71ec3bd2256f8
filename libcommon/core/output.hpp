#pragma once
// stdout carries data only. Every record is written with one write() so a reader never sees half a
// line, and flushed as it is made (JSON Lines consumers read incrementally).
// A closed pipe (EPIPE) ends the process quietly with exit 141: `ts-status watch | head -1` works.

#include <string>
#include <string_view>

#include "libcommon/core/json.hpp"

namespace tb::core {

// Writes text to stdout in one go (looping on partial writes). On EPIPE exits 141 without a word;
// on any other error prints one line on stderr and exits 74.
void write_stdout(std::string_view text);

// One JSON record as a line.
void emit_record(const Json& record);

// For streams that may stay silent for a long time (watch): a thread waits for the reader of
// stdout to go away and then exits 141 at once, so `ts-status watch | head -1` ends without
// waiting for the next record. Does nothing when stdout is not a pipe or socket.
void exit_when_stdout_closed();

// Writes "tool: message" to stderr as one line (used where the logger is not wanted).
void print_error_line(std::string_view tool, std::string_view line);

}  // namespace tb::core
