// The clock of `run`, `serve` and `worker`: the system's, or in end-to-end tests the file
// --test-clock names (core/clock_file.hpp), whose moves wake the job worker.
#pragma once

#include <memory>
#include <string>

#include "app/background_jobs.hpp"
#include "core/clock.hpp"
#include "core/clock_file.hpp"

namespace broker {

// The system clock when `test_clock_file` is empty, else a FileClock on it (ConfigError
// when the file does not hold a time).
std::unique_ptr<Clock> make_clock(const std::string& test_clock_file);

// While it lives, a moved test clock wakes `jobs` (may be null), so what became due runs at
// once instead of at the next poll. Nothing with the system clock. stop() (or destruction)
// before the jobs go.
class ClockWatch {
  public:
    ClockWatch(Clock& clock, BackgroundJobs* jobs);
    ~ClockWatch() { stop(); }
    ClockWatch(const ClockWatch&) = delete;
    ClockWatch& operator=(const ClockWatch&) = delete;
    void stop();

  private:
    FileClock* clock_;
};

}  // namespace broker
