// The jobs' settings from the environment: defaults, overrides, fractions, and errors that
// name the variable.
#include <gtest/gtest.h>

#include <map>

#include "core/errors.hpp"
#include "jobs/job_config.hpp"
#include "unit/support/env_of.hpp"

namespace broker {
namespace {

using testing::env_of;

TEST(JobsConfig, DefaultsAreTheOriginals) {
    const JobConfig c = load_job_config(env_of({}));
    EXPECT_EQ(c.sync_interval, std::chrono::seconds(600));
    EXPECT_EQ(c.cleanup_interval, std::chrono::seconds(300));
    EXPECT_EQ(c.auto_expiry_interval, std::chrono::seconds(300));
    EXPECT_EQ(c.auto_delete_stale_interval, std::chrono::seconds(3600));
    EXPECT_EQ(c.stale_grace, std::chrono::hours(24));
    EXPECT_EQ(c.cleanup_batch_size, 10);
    // The pauses are floors under the adaptive pace; the pace itself is the provider's to set.
    EXPECT_EQ(c.cleanup_batch_delay, std::chrono::milliseconds(0));
    EXPECT_EQ(c.cleanup_per_sandbox_delay, std::chrono::milliseconds(0));
    EXPECT_EQ(c.cleanup_max_concurrency, 16);
    EXPECT_EQ(c.deletion_retry_max_attempts, 5);
    EXPECT_EQ(c.deletion_retry_base, std::chrono::seconds(60));
    EXPECT_EQ(c.deletion_failed_retry, std::chrono::seconds(3600));
    // Short leases, renewed by a heartbeat: a killed worker's work resumes within a minute.
    EXPECT_EQ(c.cleanup_claim_lease, std::chrono::seconds(30));
    EXPECT_EQ(c.job_lease, std::chrono::seconds(30));
    EXPECT_EQ(c.history_retention_days, 30);
}

TEST(JobsConfig, OverridesAndFractions) {
    const JobConfig c = load_job_config(env_of({{"SYNC_INTERVAL_SEC", "30"},
                                                {"CLEANUP_PER_SANDBOX_DELAY_SEC", "0.25"},
                                                {"CLEANUP_BATCH_DELAY_SEC", " 0 "},
                                                {"STALE_GRACE_PERIOD_HOURS", "1.5"},
                                                {"DELETION_RETRY_MAX_ATTEMPTS", "2"},
                                                {"JOB_LEASE_SEC", "120"},
                                                {"HISTORY_RETENTION_DAYS", "7"},
                                                {"CLEANUP_MAX_CONCURRENCY", "4"}}));
    EXPECT_EQ(c.sync_interval, std::chrono::seconds(30));
    EXPECT_EQ(c.cleanup_max_concurrency, 4);
    EXPECT_EQ(c.cleanup_per_sandbox_delay, std::chrono::milliseconds(250));
    EXPECT_EQ(c.cleanup_batch_delay, std::chrono::milliseconds(0));
    EXPECT_EQ(c.stale_grace, std::chrono::minutes(90));
    EXPECT_EQ(c.deletion_retry_max_attempts, 2);
    EXPECT_EQ(c.job_lease, std::chrono::seconds(120));
    EXPECT_EQ(c.history_retention_days, 7);
}

TEST(JobsConfig, BadValuesNameTheVariable) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"SYNC_INTERVAL_SEC", "ten"},
        {"SYNC_INTERVAL_SEC", "0"},
        {"CLEANUP_INTERVAL_SEC", "1.5"},
        {"CLEANUP_BATCH_SIZE", "0"},
        {"CLEANUP_BATCH_DELAY_SEC", "-1"},
        {"CLEANUP_PER_SANDBOX_DELAY_SEC", "nan"},
        {"CLEANUP_MAX_CONCURRENCY", "0"},
        {"DELETION_RETRY_BASE_SEC", "0"},
        {"STALE_GRACE_PERIOD_HOURS", "1h"},
        {"JOB_LEASE_SEC", ""},
        {"HISTORY_RETENTION_DAYS", "0"},
    };
    for (const auto& [name, value] : bad) {
        try {
            load_job_config(env_of({{name, value}}));
            ADD_FAILURE() << name << "=" << value << " was accepted";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace broker
