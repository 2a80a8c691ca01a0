// The broker's clock in an end-to-end test: a file the broker reads through the hidden
// --test-clock flag (binaries built with BROKER_TEST_HOOKS), so a test moves time at once
// instead of sleeping; every broker and worker given the same flag shares the one clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "e2e/broker_process.hpp"

namespace broker::e2e {

class TestClock {
  public:
    // Starts at the real time, on a whole second (so `now() + n` is exact in Unix seconds):
    // sandboxes that `import` stamps with the system clock are not in the clock's future.
    TestClock();

    // The flag to append to `run`, `serve` or `worker`.
    std::vector<std::string> flags() const { return {"--test-clock=" + path_.string()}; }

    // The clock's time in whole Unix seconds, as the broker reads it.
    std::int64_t now() const { return ms_ / 1000; }
    // Moves the clock forward; every read after this returns sees it, and the brokers' job
    // workers wake to run what became due (wait for its effect, never for a duration).
    void advance(std::chrono::milliseconds by);

  private:
    void write() const;

    TempDir dir_;
    std::filesystem::path path_;
    std::int64_t ms_ = 0;
};

}  // namespace broker::e2e
