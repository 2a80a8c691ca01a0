// Conformance: the counts by status the stores maintain equal a real count of the rows after
// every kind of change (allocate, mark, expire, delete, deletion failure, sync and stale
// marking, revival, stale removal, bulk removal, copy) and after reopening, and after a mix
// of those done at once from several threads.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "store_harness.hpp"
#include "sync_pass.hpp"

namespace broker::testing {
namespace {

class PoolCountsConformance : public StoreConformance {
  protected:
    // The rows in `status`, counted by listing them page by page (not by the counts).
    std::int64_t listed(SandboxStatus status) {
        std::int64_t n = 0;
        ListQuery query{status, "", 7};
        for (int pages = 0; pages < 1000; ++pages) {
            const auto page = store().list(query);
            n += static_cast<std::int64_t>(page.items.size());
            if (!page.next_after) break;
            query.after_sandbox_id = *page.next_after;
        }
        return n;
    }

    std::vector<std::string> ids_in(SandboxStatus status) {
        std::vector<std::string> ids;
        for (const auto& s : store().list({status, "", 1000}).items) ids.push_back(s.sandbox_id);
        return ids;
    }

    // The maintained counts equal the real ones for every status; returns them.
    StatusCounts expect_counts_true(const std::string& after) {
        const StatusCounts counts = store().count_by_status();
        for (const SandboxStatus status : kAllStatuses) {
            EXPECT_EQ(counts[status], listed(status)) << to_string(status) << " after " << after;
        }
        return counts;
    }
};
BROKER_FOR_EVERY_STORE(PoolCountsConformance);

TEST_P(PoolCountsConformance, CountsEqualARealCountAfterEveryKindOfChange) {
    EXPECT_EQ(expect_counts_true("nothing").total(), 0);
    seed(20);
    EXPECT_EQ(expect_counts_true("seed")[SandboxStatus::available], 20);

    std::vector<std::string> held;
    for (int i = 0; i < 6; ++i) {
        const auto r = allocate("p" + std::to_string(i));
        ASSERT_TRUE(r.sandbox);
        held.push_back(r.sandbox->sandbox_id);
    }
    allocate("p0");  // the idempotent repeat changes nothing
    EXPECT_EQ(expect_counts_true("allocate")[SandboxStatus::allocated], 6);

    ASSERT_EQ(mark(held[0], "p0").outcome, MarkOutcome::marked);
    ASSERT_EQ(mark(held[1], "p1").outcome, MarkOutcome::marked);
    ASSERT_EQ(mark(held[1], "p1").outcome, MarkOutcome::already_marked);
    EXPECT_EQ(expect_counts_true("mark")[SandboxStatus::pending_deletion], 2);

    const UnixSeconds lease_total = (lease_.lab_duration + lease_.grace_period).count();
    ASSERT_EQ(lifecycle().expire_allocations(kNow + lease_total, lease_, 2).size(), 2u);
    EXPECT_EQ(expect_counts_true("expire")[SandboxStatus::pending_deletion], 4);

    const UnixSeconds later = kNow + lease_total + 10;
    const auto claimed = lifecycle().claim_for_deletion({"worker", later, later + 60, 10});
    ASSERT_EQ(claimed.size(), 4u);
    ASSERT_TRUE(lifecycle().record_deleted(claimed[0].sandbox_id, "cleanup", later));
    ASSERT_TRUE(lifecycle().record_deletion_failure(
        {claimed[1].sandbox_id, "worker", later, later + 600, /*max_attempts=*/1, "refused"}));
    auto counts = expect_counts_true("delete and deletion failure");
    EXPECT_EQ(counts[SandboxStatus::deleted], 1);
    EXPECT_EQ(counts[SandboxStatus::deletion_failed], 1);

    // The provider lists everything but three available sandboxes, and two new ones.
    const auto available = ids_in(SandboxStatus::available);
    ASSERT_EQ(available.size(), 14u);
    std::vector<ProviderSandbox> listed_now;
    for (std::size_t i = 3; i < available.size(); ++i) listed_now.push_back({available[i], "n", "e", ""});
    for (const auto& id : {"new-1", "new-2"}) listed_now.push_back({id, id, "e", ""});
    const auto sync = sync_in_one_pass(lifecycle(), listed_now, later + 20);
    EXPECT_EQ(sync.marked_stale, 3);
    counts = expect_counts_true("sync");
    EXPECT_EQ(counts[SandboxStatus::stale], 3);
    EXPECT_EQ(counts[SandboxStatus::available], 13);

    const auto revived = store().upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{available[0], "n", "e", ""}}, later + 30);
    EXPECT_EQ(revived.revived, 1);
    expect_counts_true("upsert reviving a stale sandbox");

    EXPECT_EQ(lifecycle().remove_stale(later + 25, later + 40, "auto_delete_stale"), 2);
    EXPECT_EQ(expect_counts_true("stale removal")[SandboxStatus::stale], 0);

    EXPECT_EQ(lifecycle().bulk_remove(SandboxStatus::deleted, later + 50, "admin"), 1);
    EXPECT_EQ(expect_counts_true("bulk removal")[SandboxStatus::deleted], 0);

    Sandbox copied_held;
    copied_held.sandbox_id = "copied-1";
    copied_held.name = "copied-1";
    copied_held.status = SandboxStatus::allocated;
    copied_held.allocated_to_track = "copied-holder";
    copied_held.idempotency_key = "copied-holder";
    copied_held.allocated_at = later;
    copied_held.expires_at = later + 3600;
    copied_held.created_at = kNow;
    copied_held.updated_at = later;
    Sandbox copied_pending = copied_held;
    copied_pending.sandbox_id = "copied-2";
    copied_pending.name = "copied-2";
    copied_pending.status = SandboxStatus::pending_deletion;
    copied_pending.allocated_to_track = "";
    copied_pending.idempotency_key = "";
    copied_pending.deletion_requested_at = later;
    const std::vector<CopiedSandbox> copies = {{copied_held, {}}, {copied_pending, {}}};
    EXPECT_EQ(lifecycle().insert_copied(copies), 2);
    EXPECT_EQ(lifecycle().insert_copied(copies), 0);  // a rerun of the copy writes nothing
    counts = expect_counts_true("copy");
    EXPECT_EQ(counts[SandboxStatus::allocated], 3);

    harness().reopen();
    const auto reopened = expect_counts_true("reopening");
    EXPECT_EQ(reopened.by_status, counts.by_status);
    EXPECT_EQ(reopened.total(), 20 - 1 + 2 - 2 + 2);  // seeded, deleted, new, stale removed, copied
}

TEST_P(PoolCountsConformance, CountsEqualARealCountAfterChangesFromSeveralThreadsAtOnce) {
    seed(40);
    const UnixSeconds lease_total = (lease_.lab_duration + lease_.grace_period).count();
    const UnixSeconds later = kNow + lease_total + 10;
    // Allocations (half of them returned) from four threads, while a fifth syncs (two
    // available sandboxes stop being listed, two new ones appear), revives one and expires
    // allocations whose lease ended.
    const auto first = ids_in(SandboxStatus::available);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) {
                const std::string participant = "p" + std::to_string(t) + "-" + std::to_string(i);
                const auto r = allocate(participant);
                if (r.sandbox && i % 2 == 0) mark(r.sandbox->sandbox_id, participant);
            }
        });
    }
    threads.emplace_back([&] {
        std::vector<ProviderSandbox> listed;
        for (std::size_t i = 2; i < first.size(); ++i) listed.push_back({first[i], "n", "e", ""});
        for (const auto& id : {"new-1", "new-2"}) listed.push_back({id, id, "e", ""});
        sync_in_one_pass(lifecycle(), listed, kNow + 1, /*part_size=*/10);
        store().upsert_provider_sandboxes(std::vector<ProviderSandbox>{{first[0], "n", "e", ""}}, kNow + 2);
        lifecycle().expire_allocations(kNow + lease_total, lease_, 100);
    });
    for (auto& t : threads) t.join();
    expect_counts_true("allocations, returns, a sync and expiries at once");

    // Two cleanup workers at once: each deletes half of what it claims, records a failure
    // (moving it to deletion_failed) for the rest; then stale and deleted sandboxes go.
    std::vector<std::thread> workers;
    for (const std::string worker : {"w1", "w2"}) {
        workers.emplace_back([&, worker] {
            const auto claimed = lifecycle().claim_for_deletion({worker, later, later + 60, 100});
            for (std::size_t i = 0; i < claimed.size(); ++i) {
                if (i % 2 == 0) {
                    lifecycle().record_deleted(claimed[i].sandbox_id, "cleanup", later);
                } else {
                    lifecycle().record_deletion_failure(
                        {claimed[i].sandbox_id, worker, later, later + 600, 1, "refused"});
                }
            }
        });
    }
    workers.emplace_back([&] { lifecycle().remove_stale(kNow + 5, later, "auto_delete_stale"); });
    for (auto& t : workers) t.join();
    lifecycle().bulk_remove(SandboxStatus::deleted, later + 1, "admin");
    const auto counts = expect_counts_true("deletions, failures and removals at once");
    EXPECT_EQ(counts[SandboxStatus::deleted], 0);
}

}  // namespace
}  // namespace broker::testing
