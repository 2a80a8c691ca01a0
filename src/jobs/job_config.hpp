// The background jobs' settings, read from the environment (the original's names where it
// had them). A bad value throws ConfigError naming the variable.
#pragma once

#include <chrono>

#include "core/config.hpp"

namespace broker {

struct JobConfig {
    std::chrono::seconds sync_interval{600};                // SYNC_INTERVAL_SEC
    std::chrono::seconds cleanup_interval{300};             // CLEANUP_INTERVAL_SEC
    std::chrono::seconds auto_expiry_interval{300};         // AUTO_EXPIRY_INTERVAL_SEC
    std::chrono::seconds auto_delete_stale_interval{3600};  // AUTO_DELETE_STALE_INTERVAL_SEC
    std::chrono::seconds stale_grace{24 * 3600};            // STALE_GRACE_PERIOD_HOURS (fractions allowed)
    int cleanup_batch_size = 10;                            // CLEANUP_BATCH_SIZE
    // Floors under the adaptive pace (provider/adaptive_limiter): zero leaves it to the limit.
    std::chrono::milliseconds cleanup_batch_delay{0};        // CLEANUP_BATCH_DELAY_SEC (fractions allowed)
    std::chrono::milliseconds cleanup_per_sandbox_delay{0};  // CLEANUP_PER_SANDBOX_DELAY_SEC (fractions)
    int cleanup_max_concurrency = 16;     // CLEANUP_MAX_CONCURRENCY: provider calls in flight at most
    int deletion_retry_max_attempts = 5;  // DELETION_RETRY_MAX_ATTEMPTS
    std::chrono::seconds deletion_retry_base{60};      // DELETION_RETRY_BASE_SEC: doubles per attempt
    std::chrono::seconds deletion_failed_retry{3600};  // DELETION_FAILED_RETRY_SEC: the slow pace
    // CLEANUP_CLAIM_LEASE_SEC and JOB_LEASE_SEC: how long a claim on a sandbox, and a job's
    // lease, outlive the last heartbeat of the worker holding them. A live worker renews both
    // every third of the shorter one, however long its run takes; a killed worker's work
    // passes to another once they run out. Short, so that is within a minute.
    std::chrono::seconds cleanup_claim_lease{30};
    std::chrono::seconds job_lease{30};
    int history_retention_days = 30;              // HISTORY_RETENTION_DAYS
    int expiry_batch_size = 100;                  // AUTO_EXPIRY_BATCH_SIZE
    std::chrono::milliseconds worker_poll{1000};  // WORKER_POLL_MS: how often leases are tried
    // The outbox (jobs/pool_watermark, the stale job's pruning).
    std::int64_t pool_low_watermark = 5;              // POOL_LOW_WATERMARK: 0 turns pool.low off
    std::int64_t pool_low_hysteresis = 5;             // POOL_LOW_HYSTERESIS
    std::chrono::seconds event_retention{7 * 86400};  // EVENT_RETENTION_SEC
};

// Defaults overridden by the environment; throws ConfigError.
JobConfig load_job_config(const EnvLookup& env);

}  // namespace broker
