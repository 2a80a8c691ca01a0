// Conformance: the lifecycle maintenance of the background jobs — sync, expiry, claimed and
// retried deletion, stale and bulk removal, history — written against the interfaces only.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "store_harness.hpp"
#include "sync_pass.hpp"

namespace broker::testing {
namespace {

class LifecycleConformance : public StoreConformance {
  protected:
    // The provider's view of seeded sandboxes `first`..`last` (as seed() names them).
    static std::vector<ProviderSandbox> listed(int first, int last) {
        std::vector<ProviderSandbox> out;
        for (int i = first; i <= last; ++i) {
            char number[16];
            std::snprintf(number, sizeof number, "%05d", i);
            out.push_back({"id-" + std::string(number), "sbx-" + std::string(number),
                           "identity/accounts/uuid-" + std::string(number), "sfdc-" + std::string(number)});
        }
        return out;
    }
    static std::string id(int i) { return listed(i, i)[0].sandbox_id; }

    SandboxStatus status_of(const std::string& sandbox_id) {
        auto row = store().get(sandbox_id);
        EXPECT_TRUE(row) << sandbox_id;
        return row ? row->status : SandboxStatus::deleted;
    }

    // Allocates one sandbox to `participant` at `at` and returns it at `at` (pending_deletion).
    std::string returned(const std::string& participant, UnixSeconds at) {
        auto r = allocate(participant, "", "", at);
        EXPECT_EQ(r.outcome, AllocateOutcome::allocated);
        EXPECT_EQ(mark(r.sandbox->sandbox_id, participant, at).outcome, MarkOutcome::marked);
        return r.sandbox->sandbox_id;
    }

    std::vector<Sandbox> claim(const std::string& worker, UnixSeconds now, int limit = 10,
                               UnixSeconds lease = 300) {
        return lifecycle().claim_for_deletion({worker, now, now + lease, limit});
    }

    bool fail(const std::string& sandbox_id, const std::string& worker, UnixSeconds now, UnixSeconds next,
              int max_attempts = 3) {
        return lifecycle().record_deletion_failure({sandbox_id, worker, now, next, max_attempts, "HTTP 500"});
    }

    static std::set<std::string> ids_of(const std::vector<Sandbox>& rows) {
        std::set<std::string> ids;
        for (const auto& r : rows) ids.insert(r.sandbox_id);
        return ids;
    }
};
BROKER_FOR_EVERY_STORE(LifecycleConformance);

TEST_P(LifecycleConformance, SyncMarksMissingAvailableStaleAndLeavesHeldOnesAlone) {
    seed(6);
    const std::string held = allocate("p1").sandbox->sandbox_id;  // id-00000
    const std::string back = returned("p2", kNow);                // id-00001
    ASSERT_EQ(held, id(0));
    ASSERT_EQ(back, id(1));

    // The provider now lists only 0..3 plus a new one: 4 and 5 vanished; 0 and 1 are in use.
    auto list = listed(2, 3);
    list.push_back({"id-new", "sbx-new", "identity/accounts/new", ""});
    const auto summary = sync_in_one_pass(lifecycle(), list, kNow + 60);
    EXPECT_EQ(summary.upsert.inserted, 1);
    EXPECT_EQ(summary.upsert.refreshed, 2);
    EXPECT_EQ(summary.marked_stale, 2);

    EXPECT_EQ(status_of(id(4)), SandboxStatus::stale);
    EXPECT_EQ(status_of(id(5)), SandboxStatus::stale);
    // Missing from the list, but held or being deleted: never touched by sync.
    EXPECT_EQ(status_of(held), SandboxStatus::allocated);
    EXPECT_EQ(status_of(back), SandboxStatus::pending_deletion);
    EXPECT_EQ(status_of("id-new"), SandboxStatus::available);

    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::stale], 2);
    EXPECT_EQ(counts[SandboxStatus::available], 3);

    const auto events = lifecycle().history(id(4));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().from, SandboxStatus::available);
    EXPECT_EQ(events.back().to, SandboxStatus::stale);
    EXPECT_EQ(events.back().actor, "sync");
    EXPECT_EQ(events.back().at, kNow + 60);
}

// The streamed sync: the list in parts, each upserted and recorded under the pass; only the
// finish marks stale, and exactly the available sandboxes no part listed.
TEST_P(LifecycleConformance, SyncInPartsMarksExactlyTheUnlistedOnesStale) {
    seed(8);
    const std::string held = allocate("p1").sandbox->sandbox_id;  // id-00000, not listed below
    ASSERT_EQ(held, id(0));
    constexpr std::int64_t kPass = 4242;

    // 1..3 and 5, and a new one, in three parts (one repeats a sandbox); 4, 6 and 7 are gone.
    auto first = listed(1, 2);
    auto second = listed(2, 3);
    auto third = listed(5, 5);
    third.push_back({"id-new", "sbx-new", "identity/accounts/new", ""});
    UpsertSummary total;
    for (const auto* part : {&first, &second, &third}) {
        const auto s = lifecycle().sync_part(*part, kPass, kNow + 60);
        total.inserted += s.inserted;
        total.refreshed += s.refreshed;
        total.skipped += s.skipped;
    }
    EXPECT_EQ(total.inserted, 1);
    EXPECT_EQ(total.refreshed, 5);
    // Nothing is stale before the finish, whatever the parts lacked.
    EXPECT_EQ(store().count_by_status()[SandboxStatus::stale], 0);

    EXPECT_EQ(lifecycle().finish_sync(kPass, kNow + 90), 3);
    for (int i : {4, 6, 7}) EXPECT_EQ(status_of(id(i)), SandboxStatus::stale) << id(i);
    for (int i : {1, 2, 3, 5}) EXPECT_EQ(status_of(id(i)), SandboxStatus::available) << id(i);
    EXPECT_EQ(status_of("id-new"), SandboxStatus::available);
    EXPECT_EQ(status_of(held), SandboxStatus::allocated) << "held ones are never marked";
    const auto events = lifecycle().history(id(6));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().to, SandboxStatus::stale);
    EXPECT_EQ(events.back().actor, "sync");
    EXPECT_EQ(events.back().at, kNow + 90);

    // The next pass, in the same second, lists only 1: what the earlier pass listed counts for
    // nothing now.
    constexpr std::int64_t kNext = 4243;
    EXPECT_EQ(lifecycle().sync_part(listed(1, 1), kNext, kNow + 90).refreshed, 1);
    EXPECT_EQ(lifecycle().finish_sync(kNext, kNow + 90), 4);  // 2, 3, 5 and id-new
    EXPECT_EQ(status_of(id(1)), SandboxStatus::available);
    EXPECT_EQ(status_of("id-new"), SandboxStatus::stale);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::stale], 7) << "4, 6, 7 earlier; 2, 3, 5, new now";
}

TEST_P(LifecycleConformance, AnAbandonedSyncMarksNothingStale) {
    seed(5);
    constexpr std::int64_t kPass = 77;
    // The list failed after its first part: what was read is upserted, nothing is stale.
    EXPECT_EQ(lifecycle().sync_part(listed(0, 1), kPass, kNow + 60).refreshed, 2);
    lifecycle().abandon_sync(kPass);
    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 5);
    EXPECT_EQ(counts[SandboxStatus::stale], 0);

    // A later pass that completes marks as usual.
    constexpr std::int64_t kNext = 78;
    lifecycle().sync_part(listed(0, 2), kNext, kNow + 120);
    EXPECT_EQ(lifecycle().finish_sync(kNext, kNow + 120), 2);
    EXPECT_EQ(status_of(id(3)), SandboxStatus::stale);
    EXPECT_EQ(status_of(id(4)), SandboxStatus::stale);
}

TEST_P(LifecycleConformance, SyncRevivesStaleOnesThatReappear) {
    seed(3);
    ASSERT_EQ(sync_in_one_pass(lifecycle(), listed(0, 0), kNow).marked_stale, 2);
    // A stale one is never handed out.
    EXPECT_EQ(allocate("a").sandbox->sandbox_id, id(0));
    EXPECT_EQ(allocate("b").outcome, AllocateOutcome::pool_empty);

    const auto summary = sync_in_one_pass(lifecycle(), listed(0, 2), kNow + 600);
    EXPECT_EQ(summary.upsert.revived, 2);
    EXPECT_EQ(summary.upsert.skipped, 1);  // the allocated one
    EXPECT_EQ(summary.marked_stale, 0);
    EXPECT_EQ(status_of(id(1)), SandboxStatus::available);
    EXPECT_EQ(status_of(id(2)), SandboxStatus::available);
    EXPECT_EQ(status_of(id(0)), SandboxStatus::allocated);

    const auto events = lifecycle().history(id(1));
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back().from, SandboxStatus::stale);
    EXPECT_EQ(events.back().to, SandboxStatus::available);

    // Revived and stale again: stale_since restarts, so the grace counts from the new date.
    ASSERT_EQ(sync_in_one_pass(lifecycle(), listed(0, 0), kNow + 7200).marked_stale, 2);
    EXPECT_EQ(lifecycle().remove_stale(kNow + 7200, kNow + 7200, "auto_delete_stale"), 0);
    EXPECT_EQ(lifecycle().remove_stale(kNow + 7201, kNow + 7201, "auto_delete_stale"), 2);
}

TEST_P(LifecycleConformance, ExpiryMovesOnlyExpiredAllocations) {
    seed(4);
    const UnixSeconds lease_total = (lease_.lab_duration + lease_.grace_period).count();
    const auto early = allocate("early", "", "", kNow).sandbox->sandbox_id;
    const auto late = allocate("late", "", "", kNow + 100).sandbox->sandbox_id;

    EXPECT_TRUE(lifecycle().expire_allocations(kNow + lease_total - 1, lease_, 10).empty());
    const auto moved = lifecycle().expire_allocations(kNow + lease_total, lease_, 10);
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved[0].sandbox_id, early);
    EXPECT_EQ(moved[0].status, SandboxStatus::pending_deletion);
    EXPECT_EQ(moved[0].deletion_requested_at, kNow + lease_total);
    EXPECT_EQ(status_of(late), SandboxStatus::allocated);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::available], 2);

    const auto events = lifecycle().history(early);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().from, SandboxStatus::allocated);
    EXPECT_EQ(events.back().to, SandboxStatus::pending_deletion);
    EXPECT_EQ(events.back().actor, "auto_expiry");
    EXPECT_FALSE(events.back().reason.empty());
}

TEST_P(LifecycleConformance, ExpiryHonoursItsLimitOldestFirst) {
    seed(5);
    for (int i = 0; i < 5; ++i) allocate("p" + std::to_string(i), "", "", kNow + i);
    const UnixSeconds later = kNow + 10 * 24 * 3600;
    const auto first = lifecycle().expire_allocations(later, lease_, 2);
    EXPECT_EQ(ids_of(first), (std::set<std::string>{id(0), id(1)}));
    EXPECT_EQ(lifecycle().expire_allocations(later, lease_, 10).size(), 3u);
    EXPECT_TRUE(lifecycle().expire_allocations(later, lease_, 10).empty());
}

TEST_P(LifecycleConformance, ExpiryNeverClobbersAReturn) {
    seed(2);
    const UnixSeconds lease_total = (lease_.lab_duration + lease_.grace_period).count();
    const auto sbx = returned("owner", kNow + 50);
    const auto before = store().get(sbx);
    EXPECT_TRUE(lifecycle().expire_allocations(kNow + lease_total + 100, lease_, 10).empty());
    const auto after = store().get(sbx);
    EXPECT_EQ(after->deletion_requested_at, kNow + 50);
    EXPECT_EQ(after->version, before->version);
}

TEST_P(LifecycleConformance, ConcurrentReturnAndExpiryMoveOnce) {
    seed(20);
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(allocate("p" + std::to_string(i)).sandbox->sandbox_id);
    // Just before the owners' deadline ends from their point of view, the expiry job runs with
    // a clock a little ahead: both race for every row.
    const UnixSeconds deadline = kNow + lease_.lab_duration.count() + lease_.grace_period.count();
    std::size_t expired = 0;
    int marked = 0;
    {
        std::jthread expiry([&] { expired = lifecycle().expire_allocations(deadline, lease_, 100).size(); });
        for (int i = 0; i < 20; ++i) {
            marked += mark(ids[static_cast<std::size_t>(i)], "p" + std::to_string(i), deadline - 1).outcome ==
                      MarkOutcome::marked;
        }
    }
    EXPECT_EQ(static_cast<int>(expired) + marked, 20);
    for (const auto& sbx : ids) {
        const auto events = lifecycle().history(sbx);
        const auto to_pending = std::count_if(events.begin(), events.end(), [](const SandboxEvent& e) {
            return e.to == SandboxStatus::pending_deletion;
        });
        EXPECT_EQ(to_pending, 1) << sbx;
    }
}

TEST_P(LifecycleConformance, ClaimsAreExclusiveUntilTheirLeaseRunsOut) {
    seed(6);
    std::vector<std::string> back;
    for (int i = 0; i < 5; ++i) back.push_back(returned("p" + std::to_string(i), kNow + i));

    const auto a = claim("worker-a", kNow + 10, 3);
    const auto b = claim("worker-b", kNow + 10, 3);
    ASSERT_EQ(a.size(), 3u);
    ASSERT_EQ(b.size(), 2u);
    // Oldest request first.
    EXPECT_EQ(ids_of(a), (std::set<std::string>{back[0], back[1], back[2]}));
    std::set<std::string> all = ids_of(a);
    for (const auto& id : ids_of(b)) EXPECT_TRUE(all.insert(id).second) << id << " claimed twice";
    EXPECT_TRUE(claim("worker-c", kNow + 10).empty());
    // Claiming changes no status: they are still pending deletion.
    EXPECT_EQ(store().count_by_status()[SandboxStatus::pending_deletion], 5);

    // worker-a died: at the end of its lease its claims go to whoever asks next.
    EXPECT_TRUE(claim("worker-c", kNow + 309).empty());
    const auto c = claim("worker-c", kNow + 310);
    EXPECT_EQ(c.size(), 5u);
}

TEST_P(LifecycleConformance, ClaimsAreRenewedAndGivenBackOnlyByTheirHolder) {
    seed(5);
    std::vector<std::string> back;
    for (int i = 0; i < 4; ++i) back.push_back(returned("p" + std::to_string(i), kNow + i));
    const auto a = claim("worker-a", kNow + 10, 4, 30);
    ASSERT_EQ(a.size(), 4u);
    const std::vector<std::string> first_two{a[0].sandbox_id, a[1].sandbox_id};
    const std::vector<std::string> last_two{a[2].sandbox_id, a[3].sandbox_id};

    // The holder's heartbeat keeps its claims past their lease; another worker's does nothing.
    EXPECT_EQ(lifecycle().renew_deletion_claims(first_two, "worker-b", kNow + 30, kNow + 1000), 0);
    EXPECT_EQ(lifecycle().renew_deletion_claims(first_two, "", kNow + 30, kNow + 1000), 0);
    EXPECT_EQ(lifecycle().renew_deletion_claims(first_two, "worker-a", kNow + 30, kNow + 70), 2);
    const auto b = claim("worker-b", kNow + 45);
    EXPECT_EQ(ids_of(b), (std::set<std::string>(last_two.begin(), last_two.end())))
        << "the renewed two stay with worker-a, the others ran out";

    // Giving back: only the holder's own claims, at once, and only while they are still due
    // for deletion.
    EXPECT_EQ(lifecycle().release_deletion_claims(first_two, "worker-b", kNow + 46), 0);
    ASSERT_TRUE(lifecycle().record_deleted(first_two[0], "cleanup", kNow + 46));
    EXPECT_EQ(lifecycle().release_deletion_claims(first_two, "worker-a", kNow + 47), 1);
    EXPECT_EQ(lifecycle().renew_deletion_claims(first_two, "worker-a", kNow + 47, kNow + 1000), 0)
        << "a claim given back is no longer the worker's";
    const auto c = claim("worker-c", kNow + 48);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].sandbox_id, first_two[1]);
    EXPECT_EQ(status_of(first_two[0]), SandboxStatus::deleted);
    EXPECT_EQ(lifecycle().release_deletion_claims({}, "worker-c", kNow + 49), 0);
}

TEST_P(LifecycleConformance, ConcurrentClaimersNeverShareASandbox) {
    seed(40);
    for (int i = 0; i < 40; ++i) returned("p" + std::to_string(i), kNow);
    constexpr int kWorkers = 4;
    std::vector<std::vector<Sandbox>> got(kWorkers);
    {
        std::vector<std::jthread> threads;
        for (int w = 0; w < kWorkers; ++w) {
            threads.emplace_back([&, w] {
                for (;;) {
                    auto batch = claim("w" + std::to_string(w), kNow + 1, 3);
                    if (batch.empty()) break;
                    auto& mine = got[static_cast<std::size_t>(w)];
                    mine.insert(mine.end(), batch.begin(), batch.end());
                }
            });
        }
    }
    std::set<std::string> seen;
    for (const auto& rows : got) {
        for (const auto& r : rows) EXPECT_TRUE(seen.insert(r.sandbox_id).second) << r.sandbox_id;
    }
    EXPECT_EQ(seen.size(), 40u);
}

TEST_P(LifecycleConformance, RecordDeletedEndsInHistoryOutsideThePool) {
    seed(3);
    const auto sbx = returned("p", kNow);
    ASSERT_EQ(claim("w", kNow + 1).size(), 1u);
    EXPECT_TRUE(lifecycle().record_deleted(sbx, "cleanup", kNow + 2));
    EXPECT_EQ(status_of(sbx), SandboxStatus::deleted);
    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::deleted], 1);
    EXPECT_EQ(counts.total(), 2);
    EXPECT_TRUE(claim("w2", kNow + 1000).empty());

    // Only pending or failed deletions can be recorded as deleted.
    EXPECT_FALSE(lifecycle().record_deleted(sbx, "cleanup", kNow + 3));
    EXPECT_FALSE(lifecycle().record_deleted(id(1), "cleanup", kNow + 3));
    EXPECT_FALSE(lifecycle().record_deleted("no-such-id", "cleanup", kNow + 3));
    EXPECT_EQ(status_of(id(1)), SandboxStatus::available);

    const auto events = lifecycle().history(sbx);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().from, SandboxStatus::pending_deletion);
    EXPECT_EQ(events.back().to, SandboxStatus::deleted);
    EXPECT_EQ(events.back().actor, "cleanup");
    EXPECT_EQ(events.back().reason, "deleted at the provider by the broker");
}

TEST_P(LifecycleConformance, RecordDeletedSaysWhenTheProviderHadItGoneAlready) {
    seed(2);
    const auto sbx = returned("p", kNow);
    ASSERT_EQ(claim("w", kNow + 1).size(), 1u);
    EXPECT_TRUE(lifecycle().record_deleted(sbx, "cleanup", kNow + 2, DeletedHow::already_gone));
    const auto events = lifecycle().history(sbx);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().to, SandboxStatus::deleted);
    EXPECT_EQ(events.back().reason, "already gone at the provider (404 on delete)");
}

TEST_P(LifecycleConformance, FailuresRetryThenFailThenRetrySlowly) {
    seed(2);
    const auto sbx = returned("p", kNow);
    UnixSeconds now = kNow + 1;

    // Two failed attempts: still pending, retried only when the next attempt is due.
    for (int attempt = 1; attempt <= 2; ++attempt) {
        ASSERT_EQ(claim("w", now).size(), 1u) << attempt;
        EXPECT_FALSE(fail(sbx, "intruder", now, now + 60)) << "only the claim's holder records a failure";
        ASSERT_TRUE(fail(sbx, "w", now, now + 60));
        EXPECT_FALSE(fail(sbx, "w", now, now + 60)) << "the claim was released";
        const auto row = store().get(sbx);
        EXPECT_EQ(row->status, SandboxStatus::pending_deletion);
        EXPECT_EQ(row->deletion_retry_count, attempt);
        EXPECT_TRUE(claim("w", now + 59).empty());
        now += 60;
    }
    // The third reaches max_attempts: deletion_failed, retried on the slow schedule.
    ASSERT_EQ(claim("w", now).size(), 1u);
    ASSERT_TRUE(fail(sbx, "w", now, now + 3600));
    EXPECT_EQ(status_of(sbx), SandboxStatus::deletion_failed);
    EXPECT_EQ(store().get(sbx)->deletion_retry_count, 3);
    EXPECT_TRUE(claim("w", now + 3599).empty());
    const auto slow = claim("w", now + 3600);
    ASSERT_EQ(slow.size(), 1u);
    EXPECT_EQ(slow[0].status, SandboxStatus::deletion_failed);

    // A failure of a failed one keeps it failed and counts on.
    ASSERT_TRUE(fail(sbx, "w", now + 3600, now + 7200));
    EXPECT_EQ(status_of(sbx), SandboxStatus::deletion_failed);
    EXPECT_EQ(store().get(sbx)->deletion_retry_count, 4);

    ASSERT_EQ(claim("w", now + 7200).size(), 1u);
    EXPECT_TRUE(lifecycle().record_deleted(sbx, "cleanup", now + 7201));
    EXPECT_EQ(status_of(sbx), SandboxStatus::deleted);

    std::vector<std::pair<SandboxStatus, SandboxStatus>> path;
    for (const auto& e : lifecycle().history(sbx)) {
        if (e.from && e.to) path.emplace_back(*e.from, *e.to);
    }
    const std::vector<std::pair<SandboxStatus, SandboxStatus>> expected = {
        {SandboxStatus::available, SandboxStatus::allocated},
        {SandboxStatus::allocated, SandboxStatus::pending_deletion},
        {SandboxStatus::pending_deletion, SandboxStatus::deletion_failed},
        {SandboxStatus::deletion_failed, SandboxStatus::deleted},
    };
    EXPECT_EQ(path, expected);
}

TEST_P(LifecycleConformance, ReturnedOnesAreClaimedBeforeSlowRetries) {
    seed(3);
    const auto failed = returned("p0", kNow);
    ASSERT_EQ(claim("w", kNow).size(), 1u);
    ASSERT_TRUE(fail(failed, "w", kNow, kNow + 10, 1));
    ASSERT_EQ(status_of(failed), SandboxStatus::deletion_failed);
    const auto fresh = returned("p1", kNow + 20);
    const auto one = claim("w", kNow + 30, 1);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].sandbox_id, fresh);
    const auto next = claim("w", kNow + 30, 1);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].sandbox_id, failed);
}

TEST_P(LifecycleConformance, RemoveStaleHonoursTheGrace) {
    seed(4);
    ASSERT_EQ(sync_in_one_pass(lifecycle(), listed(0, 1), kNow).marked_stale, 2);
    ASSERT_EQ(sync_in_one_pass(lifecycle(), listed(0, 0), kNow + 1000).marked_stale, 1);  // id 1 later
    EXPECT_EQ(lifecycle().remove_stale(kNow, kNow + 5000, "auto_delete_stale"), 0);
    EXPECT_EQ(lifecycle().remove_stale(kNow + 1, kNow + 5000, "auto_delete_stale"), 2);
    EXPECT_FALSE(store().get(id(2)));
    EXPECT_FALSE(store().get(id(3)));
    EXPECT_EQ(status_of(id(1)), SandboxStatus::stale);
    EXPECT_EQ(lifecycle().remove_stale(kNow + 1001, kNow + 5000, "auto_delete_stale"), 1);
    EXPECT_EQ(status_of(id(0)), SandboxStatus::available);

    // Removed, but its history stays, the removal last.
    const auto events = lifecycle().history(id(2));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().from, SandboxStatus::stale);
    EXPECT_FALSE(events.back().to);
    EXPECT_EQ(events.back().actor, "auto_delete_stale");
    EXPECT_EQ(events.back().at, kNow + 5000);
}

TEST_P(LifecycleConformance, BulkRemoveTakesOneStatusOnly) {
    seed(6);
    ASSERT_EQ(sync_in_one_pass(lifecycle(), listed(0, 3), kNow).marked_stale, 2);
    allocate("p");
    EXPECT_EQ(lifecycle().bulk_remove(SandboxStatus::stale, kNow + 1, "admin"), 2);
    EXPECT_EQ(lifecycle().bulk_remove(SandboxStatus::stale, kNow + 1, "admin"), 0);
    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::stale], 0);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::available], 3);
    const auto events = lifecycle().history(id(5));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().actor, "admin");
    EXPECT_FALSE(events.back().to);
}

TEST_P(LifecycleConformance, HistoryIsOrderedAndPrunedByAge) {
    seed(2);
    const auto sbx = returned("p", kNow + 10);
    ASSERT_EQ(claim("w", kNow + 20).size(), 1u);
    ASSERT_TRUE(lifecycle().record_deleted(sbx, "cleanup", kNow + 30));
    auto events = lifecycle().history(sbx);
    ASSERT_EQ(events.size(), 4u);  // listed, allocated, returned, deleted
    EXPECT_FALSE(events[0].from);
    EXPECT_EQ(events[0].to, SandboxStatus::available);
    EXPECT_EQ(events[1].actor, "p");
    EXPECT_EQ(events[2].to, SandboxStatus::pending_deletion);
    EXPECT_EQ(events[3].to, SandboxStatus::deleted);
    for (std::size_t i = 1; i < events.size(); ++i) {
        EXPECT_LT(events[i - 1].id, events[i].id);
        EXPECT_LE(events[i - 1].at, events[i].at);
        EXPECT_EQ(events[i].sandbox_id, sbx);
    }
    EXPECT_TRUE(lifecycle().history("no-such-id").empty());

    // Seeding happened at kNow - 3600 for both sandboxes: two events older than kNow.
    EXPECT_EQ(lifecycle().prune_history(kNow), 2);
    events = lifecycle().history(sbx);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].to, SandboxStatus::allocated);
    EXPECT_EQ(lifecycle().prune_history(kNow + 30), 2);
    EXPECT_EQ(lifecycle().history(sbx).size(), 1u);
    EXPECT_EQ(lifecycle().prune_history(kNow + 30), 0);
}

}  // namespace
}  // namespace broker::testing
