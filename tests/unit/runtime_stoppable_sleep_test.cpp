// The stoppable sleep: stop() cuts a wait short and keeps later waits short.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runtime/stoppable_sleep.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(StoppableSleep, StopCutsAWaitShort) {
    StoppableSleep sleep;
    std::thread stopper([&] {
        std::this_thread::sleep_for(milliseconds(20));
        sleep.stop();
    });
    const auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE(sleep.sleep_for(seconds(30)));
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
    EXPECT_FALSE(sleep.sleep_for(milliseconds(1)));  // stays stopped
}

TEST(StoppableSleep, ShortWaitCompletes) {
    EXPECT_TRUE(StoppableSleep().sleep_for(milliseconds(1)));
}

}  // namespace
}  // namespace broker
