// The stoppable sleep: a condition variable waited on until the duration passes or stop().
#include "runtime/stoppable_sleep.hpp"

namespace broker {

bool StoppableSleep::sleep_for(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, duration, [this] { return stopped_; });
    return !stopped_;
}

void StoppableSleep::stop() {
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
    }
    cv_.notify_all();
}

bool StoppableSleep::stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
}

}  // namespace broker
