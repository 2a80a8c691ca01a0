// Conformance: sandboxes copied in from another store (insert_copied, what `copy` writes) keep
// every field and their history, a rerun writes nothing twice, and the copies behave like the
// store's own rows: a copied allocation answers its holder only, the jobs find the rest.
#include <gtest/gtest.h>

#include <set>

#include "core/errors.hpp"
#include "store_harness.hpp"

namespace broker::testing {
namespace {

class CopyConformance : public StoreConformance {
  protected:
    // A sandbox in `status` with every field set to something of its own.
    CopiedSandbox copied(const std::string& id, SandboxStatus status) const {
        CopiedSandbox c;
        Sandbox& s = c.sandbox;
        s.sandbox_id = id;
        s.name = "copied-" + id;
        s.external_id = "identity/accounts/" + id;
        s.sfdc_account_id = "sfdc-" + id;
        s.status = status;
        s.created_at = kNow - 86400;
        s.updated_at = kNow - 1200;
        c.history.push_back({0, id, kNow - 86400, std::nullopt, SandboxStatus::available, "sync", "listed"});
        if (status != SandboxStatus::available && status != SandboxStatus::stale) {
            s.allocated_to_track = "holder-" + id;
            s.track_name = "track-" + id;
            s.idempotency_key = "key-" + id;
            s.allocated_at = kNow - 1800;
            s.expires_at = kNow - 1800 + 7200;
            c.history.push_back({0, id, kNow - 1800, SandboxStatus::available, SandboxStatus::allocated,
                                 s.allocated_to_track, "allocate"});
        }
        if (status == SandboxStatus::pending_deletion || status == SandboxStatus::deletion_failed ||
            status == SandboxStatus::deleted) {
            s.deletion_requested_at = kNow - 1200;
            c.history.push_back({0, id, kNow - 1200, SandboxStatus::allocated,
                                 SandboxStatus::pending_deletion, s.allocated_to_track, "mark-for-deletion"});
        }
        if (status == SandboxStatus::deletion_failed) {
            s.deletion_retry_count = 5;
            c.history.push_back({0, id, kNow - 1200, SandboxStatus::pending_deletion,
                                 SandboxStatus::deletion_failed, "cleanup", "attempt 5 failed"});
        }
        if (status == SandboxStatus::deleted) {
            c.history.push_back({0, id, kNow - 1200, SandboxStatus::pending_deletion, SandboxStatus::deleted,
                                 "cleanup", "deleted at the provider by the broker"});
        }
        if (status == SandboxStatus::stale) {
            c.history.push_back(
                {0, id, kNow - 1200, SandboxStatus::available, SandboxStatus::stale, "sync", "not listed"});
        }
        return c;
    }

    // One sandbox of each status, ids "c-<status>".
    std::vector<CopiedSandbox> one_of_each() const {
        std::vector<CopiedSandbox> all;
        for (SandboxStatus status : kAllStatuses)
            all.push_back(copied("c-" + std::string(to_string(status)), status));
        return all;
    }

    static void expect_same(const Sandbox& got, const Sandbox& want) {
        EXPECT_EQ(got.sandbox_id, want.sandbox_id);
        EXPECT_EQ(got.name, want.name);
        EXPECT_EQ(got.external_id, want.external_id);
        EXPECT_EQ(got.sfdc_account_id, want.sfdc_account_id);
        EXPECT_EQ(got.status, want.status) << want.sandbox_id;
        EXPECT_EQ(got.allocated_to_track, want.allocated_to_track);
        EXPECT_EQ(got.track_name, want.track_name);
        EXPECT_EQ(got.idempotency_key, want.idempotency_key);
        EXPECT_EQ(got.allocated_at, want.allocated_at);
        EXPECT_EQ(got.expires_at, want.expires_at);
        EXPECT_EQ(got.deletion_requested_at, want.deletion_requested_at);
        EXPECT_EQ(got.deletion_retry_count, want.deletion_retry_count);
        EXPECT_EQ(got.created_at, want.created_at);
        EXPECT_EQ(got.updated_at, want.updated_at);
        // version is each store's own compare-and-set token, not copied (DynamoDB derives it).
    }

    void expect_history(const std::string& id, const std::vector<SandboxEvent>& want) {
        const auto got = lifecycle().history(id);
        ASSERT_EQ(got.size(), want.size()) << id;
        for (std::size_t i = 0; i < want.size(); ++i) {
            EXPECT_EQ(got[i].sandbox_id, id);
            EXPECT_EQ(got[i].at, want[i].at);
            EXPECT_EQ(got[i].from, want[i].from);
            EXPECT_EQ(got[i].to, want[i].to);
            EXPECT_EQ(got[i].actor, want[i].actor);
            EXPECT_EQ(got[i].reason, want[i].reason);
        }
    }
};
BROKER_FOR_EVERY_STORE(CopyConformance);

TEST_P(CopyConformance, StatusesOwnersKeysTimesAndHistorySurvive) {
    const auto all = one_of_each();
    EXPECT_EQ(lifecycle().insert_copied(all), static_cast<std::int64_t>(all.size()));

    for (const auto& c : all) {
        const auto row = store().get(c.sandbox.sandbox_id);
        ASSERT_TRUE(row) << c.sandbox.sandbox_id;
        expect_same(*row, c.sandbox);
        expect_history(c.sandbox.sandbox_id, c.history);
    }
    const auto counts = store().count_by_status();
    for (SandboxStatus status : kAllStatuses) EXPECT_EQ(counts[status], 1) << to_string(status);
}

TEST_P(CopyConformance, ARerunWritesNothingTwice) {
    const auto all = one_of_each();
    const std::span<const CopiedSandbox> first_half(all.data(), 3);
    EXPECT_EQ(lifecycle().insert_copied(first_half), 3);
    // The rerun after an interruption: the whole list again, and then once more.
    EXPECT_EQ(lifecycle().insert_copied(all), static_cast<std::int64_t>(all.size()) - 3);
    EXPECT_EQ(lifecycle().insert_copied(all), 0);
    for (const auto& c : all) expect_history(c.sandbox.sandbox_id, c.history);
    EXPECT_EQ(store().count_by_status().total(), 5);  // deleted is not in the pool
}

TEST_P(CopyConformance, ASandboxTheStoreHasIsLeftAsItIs) {
    seed(1);  // id-00000, available
    auto copy = copied("id-00000", SandboxStatus::allocated);
    EXPECT_EQ(lifecycle().insert_copied({&copy, 1}), 0);
    const auto row = store().get("id-00000");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, SandboxStatus::available);
    EXPECT_EQ(row->name, "sbx-00000");
    EXPECT_EQ(lifecycle().history("id-00000").size(), 1u);  // its own creation only
}

TEST_P(CopyConformance, ACopiedAllocationAnswersItsHolderAndNobodyElse) {
    std::vector<CopiedSandbox> copies = {copied("held", SandboxStatus::allocated),
                                         copied("free", SandboxStatus::available)};
    const Sandbox& held = copies[0].sandbox;
    ASSERT_EQ(lifecycle().insert_copied(copies), 2);

    const auto repeat = allocate(held.allocated_to_track, held.idempotency_key);
    EXPECT_EQ(repeat.outcome, AllocateOutcome::existing);
    ASSERT_TRUE(repeat.sandbox);
    EXPECT_EQ(repeat.sandbox->sandbox_id, "held");
    // With a limit of one, another key of the same participant is answered by what it holds.
    EXPECT_EQ(allocate(held.allocated_to_track, "another-key").sandbox->sandbox_id, "held");

    const auto other = allocate("someone-else");
    EXPECT_EQ(other.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(other.sandbox->sandbox_id, "free");
    EXPECT_EQ(allocate("a-third").outcome, AllocateOutcome::pool_empty);
    EXPECT_EQ(mark("held", "someone-else").outcome, MarkOutcome::not_owner);
    EXPECT_EQ(mark("held", held.allocated_to_track).outcome, MarkOutcome::marked);
}

// A source may hold what the broker never makes: one participant's key on two allocations.
// The store refuses the call whole rather than pick one and hand the other out again.
TEST_P(CopyConformance, TwoAllocationsUnderOneParticipantKeyAreRefused) {
    std::vector<CopiedSandbox> twins = {copied("twin-a", SandboxStatus::allocated),
                                        copied("twin-b", SandboxStatus::allocated)};
    twins[1].sandbox.allocated_to_track = twins[0].sandbox.allocated_to_track;
    twins[1].sandbox.idempotency_key = twins[0].sandbox.idempotency_key;
    EXPECT_THROW(lifecycle().insert_copied(twins), StoreUnavailable);
    EXPECT_EQ(store().count_by_status().total(), 0);
    EXPECT_TRUE(lifecycle().history("twin-a").empty());
}

TEST_P(CopyConformance, TheJobsFindCopiedSandboxesWhereTheirOwnWouldBe) {
    auto all = one_of_each();
    // The allocation ran past lab duration + grace (its own expires_at decides).
    all[1].sandbox.allocated_at = kNow - 3 * 3600;
    all[1].sandbox.expires_at = kNow - 3 * 3600 + 7200;
    ASSERT_EQ(lifecycle().insert_copied(all), 6);

    const auto expired = lifecycle().expire_allocations(kNow, lease_, 10);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].sandbox_id, "c-allocated");

    // Returned ones and failed deletions are claimed for deletion.
    std::set<std::string> claimed;
    for (const auto& s : lifecycle().claim_for_deletion({"worker", kNow, kNow + 300, 10}))
        claimed.insert(s.sandbox_id);
    EXPECT_EQ(claimed, (std::set<std::string>{"c-allocated", "c-pending_deletion", "c-deletion_failed"}));

    // Stale since its last change: removed once the grace period from then has passed.
    EXPECT_EQ(lifecycle().remove_stale(all[3].sandbox.updated_at, kNow, "auto_delete_stale"), 0);
    EXPECT_EQ(lifecycle().remove_stale(all[3].sandbox.updated_at + 1, kNow, "auto_delete_stale"), 1);
    EXPECT_FALSE(store().get("c-stale"));
}

}  // namespace
}  // namespace broker::testing
