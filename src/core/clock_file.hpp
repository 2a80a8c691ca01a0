// A Clock read from a file, for end-to-end tests only: the test writes a time into the file
// and the broker's expiries, leases and job schedules see it at once; listeners (the job
// worker's wake) are told when it moves, so what became due runs without waiting a poll.
// Reached only through the hidden --test-clock flag of a binary built with BROKER_TEST_HOOKS.
//
// Wall time (now()) stands still between the test's moves. Monotonic time (steady_now(),
// which paces provider calls, refills rate limits and times the circuit breaker) runs as the
// machine's does and jumps by each move: the waits it paces still end, and a move still
// refills a bucket or ends an open circuit at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"

namespace broker {

// The file's whole text: milliseconds since the Unix epoch, one integer (surrounding
// whitespace allowed). Nothing for anything else.
std::optional<std::int64_t> parse_clock_file_text(std::string_view text);

class FileClock final : public Clock {
  public:
    // How often the watcher looks at the file for a move to tell the listeners about.
    static constexpr std::chrono::milliseconds kWatchInterval{5};

    // Reads the file once; throws ConfigError when it is missing or does not hold a time.
    explicit FileClock(std::filesystem::path path);
    ~FileClock() override;
    FileClock(const FileClock&) = delete;
    FileClock& operator=(const FileClock&) = delete;

    // Both read the file on every call, so a time the test wrote (by rename, so never half a
    // file) holds for every request after the write; a read that fails keeps the last time.
    UnixSeconds now() const override { return current_ms() / 1000; }
    // The machine's monotonic time plus how far the file's time moved since construction.
    std::chrono::steady_clock::time_point steady_now() const override;

    // `listener` is called (on the watcher's thread) each time the file's time changes.
    // Register before start_watching().
    void on_move(std::function<void()> listener);
    // Starts the thread that looks at the file every kWatchInterval. Once only.
    void start_watching();
    // Ends the watcher (no listener is called after it returns). Idempotent; the destructor does it.
    void stop_watching();

  private:
    std::int64_t current_ms() const;
    void watch(std::int64_t seen);

    const std::filesystem::path path_;
    std::int64_t start_ms_ = 0;  // the file's time at construction
    mutable std::atomic<std::int64_t> last_ms_;
    std::vector<std::function<void()>> listeners_;

    std::mutex mutex_;
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread watcher_;
};

}  // namespace broker
