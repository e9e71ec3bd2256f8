#pragma once
// Writes a whole file atomically: a temporary file in the same directory, fsync, rename over the
// target, fsync the directory. A reader (node_exporter's textfile collector) never sees half a file,
// and a failure (disk full) leaves the old file in place.

#include <string>
#include <string_view>

#include "libcommon/core/error.hpp"

namespace tb::core {

Result<void> write_file_atomic(const std::string& path, std::string_view content);

}  // namespace tb::core
