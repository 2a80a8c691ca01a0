// The wiring of allocations that wait (`Prefer: wait=N`) for `serve` and `run`: the waiter
// registry, its safety-net poll, the wake-ups from the store (the store's own change
// notifications in this process; on PostgreSQL also a LISTEN connection, so a sandbox that
// any process adds wakes the waiters of every replica), and the gauges
// broker_allocate_waiters and broker_blocking_pool_active.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/env_value.hpp"
#include "http/allocate_wait.hpp"
#include "http/waiter_poller.hpp"
#include "http/waiter_registry.hpp"
#include "obs/metrics.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/store_handle.hpp"

namespace broker {

class PgPoolListener;

class AllocateWaiting final : public PoolChangeListener {
  public:
    // `store_url`: BROKER_STORE (a PostgreSQL one gets the LISTEN connection, with the DB_*
    // settings of `env`). Registers itself as `store`'s change listener.
    AllocateWaiting(const AllocateWaitOptions& options, const StoreHandle& store,
                    const std::string& store_url, const EnvLookup& env, MetricsRegistry& metrics,
                    const BlockingPool& pool);
    ~AllocateWaiting() override;  // stop()

    WaiterRegistry& registry() { return registry_; }
    std::chrono::seconds max_wait() const { return options_.max_wait; }

    void sandboxes_added() noexcept override { registry_.wake_heads(); }
    // The test clock moved: each waiter looks at its deadline again (ClockWatch calls it).
    void clock_moved() { registry_.nudge_all(); }

    // Shutdown: every waiter is answered now, no new one waits; the poll and the listener stop.
    void stop();

  private:
    const AllocateWaitOptions options_;
    PoolChangeSource& changes_;
    WaiterRegistry registry_;
    WaiterPoller poller_;
    std::unique_ptr<PgPoolListener> listener_;
};

}  // namespace broker
