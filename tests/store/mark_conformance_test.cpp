// Conformance: mark-for-deletion — every outcome, repeats, expiry by a moved clock, races.
#include <gtest/gtest.h>

#include <thread>

#include "core/clock.hpp"
#include "store_harness.hpp"

namespace broker::testing {
namespace {

class MarkConformance : public StoreConformance {
  protected:
    void prepare() override {
        seed(4);
        auto r = allocate("owner");
        ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
        held_ = *r.sandbox;
    }
    Sandbox held_;
};
BROKER_FOR_EVERY_STORE(MarkConformance);

TEST_P(MarkConformance, OwnerMovesItToPendingDeletion) {
    auto r = mark(held_.sandbox_id, "owner", kNow + 10);
    ASSERT_EQ(r.outcome, MarkOutcome::marked);
    ASSERT_TRUE(r.sandbox);
    EXPECT_EQ(r.sandbox->status, SandboxStatus::pending_deletion);
    EXPECT_EQ(r.sandbox->deletion_requested_at, kNow + 10);
    EXPECT_EQ(r.sandbox->allocated_to_track, "owner");
    EXPECT_EQ(r.sandbox->version, held_.version + 1);

    auto stored = store().get(held_.sandbox_id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, SandboxStatus::pending_deletion);
    EXPECT_EQ(stored->deletion_requested_at, kNow + 10);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::pending_deletion], 1);
}

TEST_P(MarkConformance, RepeatGivesTheSameAnswerAndChangesNothing) {
    auto first = mark(held_.sandbox_id, "owner", kNow + 10);
    ASSERT_EQ(first.outcome, MarkOutcome::marked);
    auto again = mark(held_.sandbox_id, "owner", kNow + 500);
    ASSERT_EQ(again.outcome, MarkOutcome::already_marked);
    ASSERT_TRUE(again.sandbox);
    EXPECT_EQ(again.sandbox->deletion_requested_at, kNow + 10);
    EXPECT_EQ(again.sandbox->status, SandboxStatus::pending_deletion);
    EXPECT_EQ(again.sandbox->version, first.sandbox->version);
}

TEST_P(MarkConformance, UnknownSandboxIsNotFound) {
    auto r = mark("no-such-id", "owner");
    EXPECT_EQ(r.outcome, MarkOutcome::not_found);
    EXPECT_FALSE(r.sandbox);
}

TEST_P(MarkConformance, OthersAreNotTheOwner) {
    EXPECT_EQ(mark(held_.sandbox_id, "intruder").outcome, MarkOutcome::not_owner);
    EXPECT_EQ(mark(held_.sandbox_id, "").outcome, MarkOutcome::not_owner);
    EXPECT_EQ(store().get(held_.sandbox_id)->status, SandboxStatus::allocated);

    // A sandbox nobody holds belongs to nobody, an empty participant id included.
    auto pool = store().list({SandboxStatus::available, "", 1});
    ASSERT_EQ(pool.items.size(), 1u);
    EXPECT_EQ(mark(pool.items[0].sandbox_id, "owner").outcome, MarkOutcome::not_owner);
    EXPECT_EQ(mark(pool.items[0].sandbox_id, "").outcome, MarkOutcome::not_owner);
    EXPECT_EQ(store().get(pool.items[0].sandbox_id)->status, SandboxStatus::available);

    // Once returned, it is still not theirs to return.
    ASSERT_EQ(mark(held_.sandbox_id, "owner").outcome, MarkOutcome::marked);
    EXPECT_EQ(mark(held_.sandbox_id, "intruder").outcome, MarkOutcome::not_owner);
}

TEST_P(MarkConformance, ExpiresAfterLabDurationPlusGrace) {
    ManualClock clock(kNow);
    auto other = allocate("second", "", "", clock.now());
    ASSERT_EQ(other.outcome, AllocateOutcome::allocated);

    // One second before the grace period ends the owner may still return it...
    clock.advance(lease_.lab_duration + lease_.grace_period - std::chrono::seconds(1));
    EXPECT_EQ(mark(other.sandbox->sandbox_id, "second", clock.now()).outcome, MarkOutcome::marked);

    // ...from its end on, the allocation is expired and stays with the expiry job.
    clock.advance(std::chrono::seconds(1));
    auto expired = mark(held_.sandbox_id, "owner", clock.now());
    EXPECT_EQ(expired.outcome, MarkOutcome::expired);
    EXPECT_EQ(store().get(held_.sandbox_id)->status, SandboxStatus::allocated);
    EXPECT_EQ(mark(held_.sandbox_id, "intruder", clock.now()).outcome, MarkOutcome::not_owner);
}

TEST_P(MarkConformance, ConcurrentRepeatsMarkOnce) {
    constexpr int kThreads = 10;
    std::vector<MarkResult> results(kThreads);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < kThreads; ++i) {
            threads.emplace_back(
                [&, i] { results[static_cast<std::size_t>(i)] = mark(held_.sandbox_id, "owner", kNow + i); });
        }
    }
    int marked = 0;
    std::optional<UnixSeconds> requested_at;
    for (const auto& r : results) {
        ASSERT_TRUE(r.outcome == MarkOutcome::marked || r.outcome == MarkOutcome::already_marked);
        marked += r.outcome == MarkOutcome::marked;
        ASSERT_TRUE(r.sandbox);
        if (!requested_at) requested_at = r.sandbox->deletion_requested_at;
        EXPECT_EQ(r.sandbox->deletion_requested_at, requested_at);
    }
    EXPECT_EQ(marked, 1);
}

}  // namespace
}  // namespace broker::testing
