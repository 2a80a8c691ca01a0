// The safety net under the wake-ups of waiting allocations: while anyone waits, every
// ALLOCATE_WAIT_POLL_MS (±25% jitter, so replicas do not poll in step) the head of each
// waiter queue is woken to try the store once. It is the only wake-up on DynamoDB, and it
// catches what no signal reaches (another process's import on SQLite, a lost notification).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/waiter_registry.hpp"

namespace broker {

class WaiterPoller {
  public:
    WaiterPoller(WaiterRegistry& registry, std::chrono::milliseconds interval);
    ~WaiterPoller();  // stop()

    WaiterPoller(const WaiterPoller&) = delete;
    WaiterPoller& operator=(const WaiterPoller&) = delete;

    void stop();

  private:
    void run();

    WaiterRegistry& registry_;
    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace broker
