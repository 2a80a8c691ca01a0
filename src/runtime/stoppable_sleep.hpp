// A sleep that shutdown can cut short: what the job worker and the provider clients wait on
// between runs and retries, so stopping the broker never waits out a backoff.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace broker {

// Waits a duration, returning false at once if asked to stop (shutdown). The callable form is
// what clients take, so tests can pass one that moves a ManualClock instead of sleeping.
using SleepFunction = std::function<bool(std::chrono::milliseconds)>;

class StoppableSleep {
  public:
    // Sleeps up to `duration`; false when stop() was called before or during the wait.
    bool sleep_for(std::chrono::milliseconds duration);
    void stop();
    bool stopped() const;
    SleepFunction as_function() {
        return [this](std::chrono::milliseconds d) { return sleep_for(d); };
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool stopped_ = false;
};

}  // namespace broker
