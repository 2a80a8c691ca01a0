// The tests' file clock: what the file may hold, reads that see a rewrite at once, and the
// listeners a move wakes (the job worker's), which stop being called once watching stops.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "../store/temp_dir.hpp"
#include "core/clock_file.hpp"
#include "core/errors.hpp"

namespace broker {
namespace {

using namespace std::chrono_literals;

class FileClockTest : public ::testing::Test {
  protected:
    // As the tests' fixture writes it: a new file renamed over the old, never half a file.
    void write(const std::string& text) {
        const std::string next = dir_.file("clock.next");
        std::ofstream(next, std::ios::binary) << text;
        std::filesystem::rename(next, path_);
    }

    testing::TempDir dir_;
    const std::string path_ = dir_.file("clock");
};

TEST(ClockFileTextTest, MillisecondsSinceTheEpochWithSurroundingWhitespace) {
    EXPECT_EQ(parse_clock_file_text("1700000000123"), 1700000000123);
    EXPECT_EQ(parse_clock_file_text("  1700000000123\n"), 1700000000123);
    EXPECT_EQ(parse_clock_file_text("0"), 0);
}

TEST(ClockFileTextTest, AnythingElseIsNoTime) {
    EXPECT_FALSE(parse_clock_file_text(""));
    EXPECT_FALSE(parse_clock_file_text("\n"));
    EXPECT_FALSE(parse_clock_file_text("-5"));
    EXPECT_FALSE(parse_clock_file_text("1700000000.5"));
    EXPECT_FALSE(parse_clock_file_text("17 00"));
    EXPECT_FALSE(parse_clock_file_text("soon"));
    EXPECT_FALSE(parse_clock_file_text("99999999999999999999999"));
}

TEST_F(FileClockTest, ReadsTheTimeTheFileHoldsAndEachRewriteAtOnce) {
    write("1700000000250\n");
    const FileClock clock(path_);
    EXPECT_EQ(clock.now(), 1'700'000'000);
    EXPECT_EQ(clock.now(), 1'700'000'000) << "wall time stands still between moves";

    write("1700000061750\n");
    EXPECT_EQ(clock.now(), 1'700'000'061);
}

TEST_F(FileClockTest, MonotonicTimeRunsAndJumpsByEachMove) {
    write("1700000000000");
    const FileClock clock(path_);
    const auto machine_before = std::chrono::steady_clock::now();
    const auto before = clock.steady_now();
    write("1700000061500");
    const auto after = clock.steady_now();
    const auto machine_after = std::chrono::steady_clock::now();
    // The move, plus what the machine's clock ran between the two reads (never less, never more).
    EXPECT_GE(after - before, 61500ms);
    EXPECT_LE(after - before, 61500ms + (machine_after - machine_before));
}

TEST_F(FileClockTest, AnUnreadableRewriteKeepsTheLastTime) {
    write("1700000005000");
    const FileClock clock(path_);
    write("garbage");
    EXPECT_EQ(clock.now(), 1'700'000'005);
    std::filesystem::remove(path_);
    EXPECT_EQ(clock.now(), 1'700'000'005);
}

TEST_F(FileClockTest, AMissingOrMalformedFileIsAConfigurationErrorNamingIt) {
    try {
        FileClock clock(path_);
        ADD_FAILURE() << "a missing file was accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
    }
    write("tomorrow");
    EXPECT_THROW(FileClock{path_}, ConfigError);
}

TEST_F(FileClockTest, AMoveCallsTheListenersAndStopWatchingEndsThat) {
    write("1700000000000");
    FileClock clock(path_);
    std::mutex mutex;
    std::condition_variable moved;
    int calls = 0;
    clock.on_move([&] {
        std::lock_guard lock(mutex);
        ++calls;
        moved.notify_all();
    });
    clock.start_watching();

    write("1700000030000");
    {
        // An event, not a duration: the deadline is only there so a broken watcher fails.
        std::unique_lock lock(mutex);
        ASSERT_TRUE(moved.wait_for(lock, 10s, [&] { return calls >= 1; }));
    }

    clock.stop_watching();
    const int before = [&] {
        std::lock_guard lock(mutex);
        return calls;
    }();
    write("1700000090000");
    EXPECT_EQ(clock.now(), 1'700'000'090);                       // reads still see the file
    std::this_thread::sleep_for(FileClock::kWatchInterval * 4);  // what a running watcher would need
    std::lock_guard lock(mutex);
    EXPECT_EQ(calls, before);
}

}  // namespace
}  // namespace broker
