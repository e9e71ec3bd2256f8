#include "libcommon/core/atomic_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tb::core {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AtomicFile, ReplacesWholeFileAndLeavesNoTemp) {
  auto dir = std::filesystem::temp_directory_path() / ("tb-atomic-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "m.prom").string();
  ASSERT_TRUE(write_file_atomic(path, "one\n"));
  ASSERT_TRUE(write_file_atomic(path, "two\n"));
  EXPECT_EQ(slurp(path), "two\n");
  int files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(dir);
}

TEST(AtomicFile, MissingDirectoryIsIoError) {
  auto r = write_file_atomic("/nonexistent-tb-dir/x.prom", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ExitCode::kIoErr);
  EXPECT_NE(r.error().message.find("/nonexistent-tb-dir/x.prom"), std::string::npos);
}

TEST(AtomicFile, FailedWriteKeepsOldFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  auto dir = std::filesystem::temp_directory_path() / ("tb-atomic2-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "m.prom").string();
  ASSERT_TRUE(write_file_atomic(path, "old\n"));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  EXPECT_FALSE(write_file_atomic(path, "new\n"));
  EXPECT_EQ(slurp(path), "old\n");
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tb::core
