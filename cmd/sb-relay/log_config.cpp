#include "cmd/sb-relay/log_config.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>
#include <memory>

#include "libcommon/core/exit_code.hpp"

namespace tb::cmd::sb_relay {

namespace {

// sing-box's level names (log/level.go ParseLevel) → spdlog's.
spdlog::level::level_enum level_of(const std::string& s) {
  if (s == "trace") return spdlog::level::trace;
  if (s == "debug") return spdlog::level::debug;
  if (s == "info") return spdlog::level::info;
  if (s == "warn" || s == "warning") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  return spdlog::level::critical;  // fatal, panic (sb-route check refuses any other name)
}

// Go's "-0700" (the UTC offset without a colon; spdlog's %z has one).
class GoZone : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm& tm, spdlog::memory_buf_t& dest) override {
    char buf[8];
    size_t n = std::strftime(buf, sizeof buf, "%z", &tm);
    dest.append(buf, buf + n);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<GoZone>(); }
};

std::string text(const tb::core::Json& log, const char* key) {
  auto it = log.find(key);
  return it != log.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

tb::core::Result<void> apply_log_section(const tb::core::Json& log, bool level_given) {
  if (!log.is_object()) return {};
  bool disabled = log.value("disabled", false) == true;
  std::string level = text(log, "level"), output = text(log, "output");
  bool timestamp = log.contains("timestamp") && log["timestamp"] == true;
  auto logger = spdlog::default_logger();
  if (!output.empty() && output != "stderr") {  // "stdout" is refused by sb-route check
    // sing-box opens the file (O_APPEND|O_CREATE); spdlog would also create missing directories.
    auto dir = std::filesystem::path(output).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      return tb::core::fail(tb::core::ExitCode::kConfig, "log.output: open " + output + ": no such directory");
    try {
      logger = std::make_shared<spdlog::logger>(logger->name(), std::make_shared<spdlog::sinks::basic_file_sink_mt>(output));
    } catch (const spdlog::spdlog_ex& e) {
      return tb::core::fail(tb::core::ExitCode::kConfig, "log.output: " + std::string(e.what()));
    }
    spdlog::set_default_logger(logger);
  }
  // sing-box's full timestamp ("-0700 2006-01-02 15:04:05"); without it, none.
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<GoZone>('*').set_pattern(timestamp ? "%* %Y-%m-%d %H:%M:%S %n: %l: %v" : "%n: %l: %v");
  logger->set_formatter(std::move(formatter));
  if (!level_given) {
    if (disabled) spdlog::set_level(spdlog::level::off);
    else if (!level.empty()) spdlog::set_level(level_of(level));
  }
  logger->flush_on(spdlog::level::trace);
  return {};
}

}  // namespace tb::cmd::sb_relay
