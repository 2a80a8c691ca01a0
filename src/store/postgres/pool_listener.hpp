// LISTEN for sandboxes that became available, so that allocations waiting on every `serve`
// replica wake up when any process (a worker's sync, an import) commits new or revived
// sandboxes: the upsert sends NOTIFY on kPoolChannel in its own transaction, and each replica
// keeps one connection listening on a thread of its own, reconnecting (1 s, doubling to 30 s)
// when the connection is lost. A notification missed meanwhile is caught by the waiters' poll.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "store/postgres/postgres_options.hpp"

namespace broker {

inline constexpr const char* kPoolChannel = "sandbox_broker_pool";

class PgPoolListener {
  public:
    // Starts listening at once; `on_notify` runs on the listener's thread.
    PgPoolListener(const PostgresOptions& options, std::function<void()> on_notify);
    ~PgPoolListener();  // stop()

    PgPoolListener(const PgPoolListener&) = delete;
    PgPoolListener& operator=(const PgPoolListener&) = delete;

    void stop();

    // Whether the listening connection is up right now (tests, diagnostics).
    bool listening() const { return listening_.load(); }
    // Notifications received so far.
    std::uint64_t received() const { return received_.load(); }

  private:
    void run();
    bool pause(std::chrono::milliseconds how_long);  // false when stopping

    const std::string conninfo_;
    const std::function<void()> on_notify_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> listening_{false};
    std::atomic<std::uint64_t> received_{0};
    std::mutex mutex_;
    std::condition_variable stop_cv_;
    std::thread thread_;
};

}  // namespace broker
