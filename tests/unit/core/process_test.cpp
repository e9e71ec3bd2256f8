#include "libcommon/core/process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace tb::core {
namespace {

// One test: an interrupt is once per process.
TEST(Process, InterruptCallbacksNeitherOutliveRemovalNorGetLost) {
  ASSERT_FALSE(interrupted());

  // remove_on_interrupt() returns only after a callback already running has finished, so an owner
  // that removes its callback in its destructor is never called back once destroyed.
  std::promise<void> started;
  std::atomic<bool> finished{false};
  int handle = on_interrupt([&] {
    started.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    finished.store(true);
  });
  std::thread signal_thread([] { request_interrupt(2); });
  started.get_future().wait();
  remove_on_interrupt(handle);
  EXPECT_TRUE(finished.load()) << "remove_on_interrupt returned while its callback was still running";
  signal_thread.join();
  EXPECT_TRUE(interrupted());
  EXPECT_EQ(interrupt_signal(), 2);

  // A callback registered after the interrupt runs at once: the cancellation is not lost.
  bool ran = false;
  int late = on_interrupt([&] { ran = true; });
  EXPECT_TRUE(ran);
  remove_on_interrupt(late);
  EXPECT_FALSE(sleep_for(std::chrono::milliseconds(5000)));  // returns at once when interrupted
}

}  // namespace
}  // namespace tb::core
