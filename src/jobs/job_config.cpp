// Reading the jobs' settings: see job_config.hpp.
#include "jobs/job_config.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "core/env_value.hpp"
#include "core/errors.hpp"

namespace broker {
namespace {

// The variable as a number in [min, max]; nothing when unset. `integral`: a whole number.
std::optional<double> read_number(const EnvLookup& env, const std::string& name, double min, double max,
                                  bool integral) {
    const auto value = env_number<double>(env, name, min, max);
    if (value && integral && *value != std::floor(*value)) {
        throw ConfigError(name + "=" + *env_text(env, name) + " must be a whole number");
    }
    return value;
}

void read_seconds(const EnvLookup& env, const std::string& name, double min, double max,
                  std::chrono::seconds& out) {
    if (auto v = read_number(env, name, min, max, true))
        out = std::chrono::seconds(static_cast<std::int64_t>(*v));
}

void read_int(const EnvLookup& env, const std::string& name, double min, double max, int& out) {
    if (auto v = read_number(env, name, min, max, true)) out = static_cast<int>(*v);
}

void read_fraction_ms(const EnvLookup& env, const std::string& name, double max_sec,
                      std::chrono::milliseconds& out) {
    if (auto v = read_number(env, name, 0, max_sec, false)) {
        out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*v * 1000)));
    }
}

}  // namespace

JobConfig load_job_config(const EnvLookup& env) {
    constexpr double kDay = 86400;
    constexpr double kYear = 366 * kDay;
    JobConfig c;
    read_seconds(env, "SYNC_INTERVAL_SEC", 1, kYear, c.sync_interval);
    read_seconds(env, "CLEANUP_INTERVAL_SEC", 1, kYear, c.cleanup_interval);
    read_seconds(env, "AUTO_EXPIRY_INTERVAL_SEC", 1, kYear, c.auto_expiry_interval);
    read_seconds(env, "AUTO_DELETE_STALE_INTERVAL_SEC", 1, kYear, c.auto_delete_stale_interval);
    if (auto hours = read_number(env, "STALE_GRACE_PERIOD_HOURS", 0, 24 * 366, false)) {
        c.stale_grace = std::chrono::seconds(static_cast<std::int64_t>(std::llround(*hours * 3600)));
    }
    read_int(env, "CLEANUP_BATCH_SIZE", 1, 1000, c.cleanup_batch_size);
    read_fraction_ms(env, "CLEANUP_BATCH_DELAY_SEC", 3600, c.cleanup_batch_delay);
    read_fraction_ms(env, "CLEANUP_PER_SANDBOX_DELAY_SEC", 3600, c.cleanup_per_sandbox_delay);
    read_int(env, "CLEANUP_MAX_CONCURRENCY", 1, 256, c.cleanup_max_concurrency);
    read_int(env, "DELETION_RETRY_MAX_ATTEMPTS", 1, 1000, c.deletion_retry_max_attempts);
    // At least a second: a failed delete must not be claimed again within the same run.
    read_seconds(env, "DELETION_RETRY_BASE_SEC", 1, kDay, c.deletion_retry_base);
    read_seconds(env, "DELETION_FAILED_RETRY_SEC", 1, 30 * kDay, c.deletion_failed_retry);
    read_seconds(env, "CLEANUP_CLAIM_LEASE_SEC", 1, kDay, c.cleanup_claim_lease);
    read_seconds(env, "JOB_LEASE_SEC", 1, kDay, c.job_lease);
    read_int(env, "HISTORY_RETENTION_DAYS", 1, 36600, c.history_retention_days);
    read_int(env, "AUTO_EXPIRY_BATCH_SIZE", 1, 100000, c.expiry_batch_size);
    if (auto ms = read_number(env, "WORKER_POLL_MS", 10, 60000, true)) {
        c.worker_poll = std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
    }
    if (auto v = read_number(env, "POOL_LOW_WATERMARK", 0, 1e9, true))
        c.pool_low_watermark = static_cast<std::int64_t>(*v);
    if (auto v = read_number(env, "POOL_LOW_HYSTERESIS", 0, 1e9, true))
        c.pool_low_hysteresis = static_cast<std::int64_t>(*v);
    read_seconds(env, "EVENT_RETENTION_SEC", 60, 10 * kYear, c.event_retention);
    return c;
}

}  // namespace broker
