// The clock of `run`, `serve` and `worker`: the system's, or in end-to-end tests the file
// --test-clock names (core/clock_file.hpp), whose moves wake the job worker and the waiting
// allocations.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/clock_file.hpp"

namespace broker {

// The system clock when `test_clock_file` is empty, else a FileClock on it (ConfigError
// when the file does not hold a time).
std::unique_ptr<Clock> make_clock(const std::string& test_clock_file);

// While it lives, a moved test clock calls each of `on_move` (the job worker's wake, so what
// became due runs at once instead of at the next poll; the waiting allocations' look at their
// deadlines). Nothing with the system clock. stop() (or destruction) before what they call goes.
class ClockWatch {
  public:
    ClockWatch(Clock& clock, const std::vector<std::function<void()>>& on_move);
    ~ClockWatch() { stop(); }
    ClockWatch(const ClockWatch&) = delete;
    ClockWatch& operator=(const ClockWatch&) = delete;
    void stop();

  private:
    FileClock* clock_;
};

}  // namespace broker
