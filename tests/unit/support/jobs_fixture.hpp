// The common ground of the job tests: a real SqliteStore in a fresh temp file, a ManualClock,
// real metrics, and the fake provider; helpers to fill the pool and return sandboxes through
// the store's own operations. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "jobs/sync_job.hpp"
#include "obs/broker_metrics.hpp"
#include "obs/metrics.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/temp_dir.hpp"
#include "unit/support/jobs_fakes.hpp"

namespace broker::testing {

// Waits (bounded, real time) until `done` holds: worker threads move on their own schedule.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

class JobsTest : public ::testing::Test {
  protected:
    static constexpr UnixSeconds kStart = 1'700'000'000;

    void SetUp() override {
        store_ = open_store();
        lease_.lab_duration = std::chrono::hours(2);
        lease_.grace_period = std::chrono::minutes(10);
    }

    // Another store on the same file, as a second process would open it.
    std::unique_ptr<SqliteStore> open_store() {
        auto store = std::make_unique<SqliteStore>(SqliteOptions{.path = dir_.file("broker.db")});
        store->migrate();
        return store;
    }

    // Puts `count` provider accounts into the pool with a sync run.
    void fill_pool(int count) {
        provider_.add_accounts(count);
        SyncJob sync(provider_, *store_, clock_);
        const auto r = sync.run_once();
        ASSERT_TRUE(r.ok);
        ASSERT_EQ(r.count("inserted"), count);
    }

    Sandbox allocate(const std::string& participant) {
        AllocateRequest request;
        request.participant_id = participant;
        request.idempotency_key = participant;
        request.now = clock_.now();
        request.lease = lease_;
        auto r = store_->allocate(request);
        EXPECT_EQ(r.outcome, AllocateOutcome::allocated);
        return r.sandbox.value_or(Sandbox{});
    }

    // Allocates a sandbox to `participant` and returns it: it is then pending deletion.
    Sandbox give_back(const std::string& participant) {
        const Sandbox s = allocate(participant);
        auto r = store_->mark_for_deletion({s.sandbox_id, participant, clock_.now(), lease_});
        EXPECT_EQ(r.outcome, MarkOutcome::marked);
        return r.sandbox.value_or(s);
    }

    SandboxStatus status(const std::string& sandbox_id) {
        auto row = store_->get(sandbox_id);
        EXPECT_TRUE(row) << sandbox_id;
        return row ? row->status : SandboxStatus::deleted;
    }

    TempDir dir_;
    ManualClock clock_{kStart};
    MetricsRegistry registry_;
    JobMetrics metrics_{registry_};
    FakeProvider provider_;
    LeasePolicy lease_;
    std::unique_ptr<SqliteStore> store_;
};

}  // namespace broker::testing
