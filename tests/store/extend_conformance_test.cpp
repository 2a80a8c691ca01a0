// Conformance: lease extension — the move, the cap, who may, what is not held, expiry on the
// new time, and extensions racing the expiry job (never an extension lost to it).
#include <gtest/gtest.h>

#include <thread>

#include "store_harness.hpp"

namespace broker::testing {
namespace {

class ExtendConformance : public StoreConformance {
  protected:
    void prepare() override {
        seed(4);
        auto r = allocate("owner");
        ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
        held_ = *r.sandbox;
    }

    ExtendResult extend(const std::string& sandbox_id, const std::string& participant, std::int64_t seconds,
                        UnixSeconds now = kNow) {
        return store().extend_lease({sandbox_id, participant, seconds, now, lease_});
    }

    // The end of the lab and the first instant the allocation made at kNow is expired.
    UnixSeconds lab_end() const { return kNow + lease_.lab_duration.count(); }
    UnixSeconds deadline() const { return lab_end() + lease_.grace_period.count(); }

    Sandbox held_;
};
BROKER_FOR_EVERY_STORE(ExtendConformance);

TEST_P(ExtendConformance, MovesExpiresAtAndRecordsTheOldAndNewExpiry) {
    ASSERT_EQ(held_.expires_at, lab_end());
    auto r = extend(held_.sandbox_id, "owner", 1800, kNow + 60);
    ASSERT_EQ(r.outcome, ExtendOutcome::extended);
    ASSERT_TRUE(r.sandbox);
    EXPECT_EQ(r.sandbox->expires_at, lab_end() + 1800);
    EXPECT_EQ(r.sandbox->status, SandboxStatus::allocated);
    EXPECT_EQ(r.sandbox->allocated_at, kNow);
    EXPECT_EQ(r.sandbox->allocated_to_track, "owner");
    EXPECT_EQ(r.old_expires_at, lab_end());
    EXPECT_EQ(r.max_expires_at, kNow + 2 * lease_.lab_duration.count());

    const auto stored = store().get(held_.sandbox_id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->expires_at, lab_end() + 1800);
    EXPECT_EQ(stored->status, SandboxStatus::allocated);

    const auto events = lifecycle().history(held_.sandbox_id);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().from, SandboxStatus::allocated);
    EXPECT_EQ(events.back().to, SandboxStatus::allocated);
    EXPECT_EQ(events.back().actor, "owner");
    EXPECT_EQ(events.back().at, kNow + 60);
    EXPECT_EQ(events.back().reason, extension_reason(lab_end(), lab_end() + 1800));

    // A second extension moves on from the first one's end.
    auto again = extend(held_.sandbox_id, "owner", 60, kNow + 120);
    ASSERT_EQ(again.outcome, ExtendOutcome::extended);
    EXPECT_EQ(again.sandbox->expires_at, lab_end() + 1860);
    // The holding still answers its participant's allocation, with the new end.
    auto repeat = allocate("owner");
    ASSERT_EQ(repeat.outcome, AllocateOutcome::existing);
    EXPECT_EQ(repeat.sandbox->expires_at, lab_end() + 1860);
}

TEST_P(ExtendConformance, NeverPastTheCapCutThereThenRefused) {
    lease_.max_duration = lease_.lab_duration + std::chrono::hours(1);
    const UnixSeconds cap = kNow + lease_.max_duration.count();
    auto within = extend(held_.sandbox_id, "owner", 1200);
    ASSERT_EQ(within.outcome, ExtendOutcome::extended);
    EXPECT_EQ(within.sandbox->expires_at, lab_end() + 1200);

    // Past the cap: cut at it.
    auto cut = extend(held_.sandbox_id, "owner", 7200);
    ASSERT_EQ(cut.outcome, ExtendOutcome::capped);
    EXPECT_EQ(cut.sandbox->expires_at, cap);
    EXPECT_EQ(cut.max_expires_at, cap);
    EXPECT_EQ(lifecycle().history(held_.sandbox_id).back().reason, extension_reason(lab_end() + 1200, cap));

    // At the cap: refused, nothing changed.
    const auto before = store().get(held_.sandbox_id);
    const auto events_before = lifecycle().history(held_.sandbox_id).size();
    auto refused = extend(held_.sandbox_id, "owner", 1);
    EXPECT_EQ(refused.outcome, ExtendOutcome::limit_reached);
    EXPECT_FALSE(refused.sandbox);
    EXPECT_EQ(refused.max_expires_at, cap);
    const auto after = store().get(held_.sandbox_id);
    EXPECT_EQ(after->expires_at, cap);
    EXPECT_EQ(after->version, before->version);
    EXPECT_EQ(lifecycle().history(held_.sandbox_id).size(), events_before);
}

TEST_P(ExtendConformance, OnlyTheHolderMayExtend) {
    EXPECT_EQ(extend("no-such-id", "owner", 60).outcome, ExtendOutcome::not_found);
    EXPECT_EQ(extend(held_.sandbox_id, "intruder", 60).outcome, ExtendOutcome::not_owner);
    EXPECT_EQ(extend(held_.sandbox_id, "", 60).outcome, ExtendOutcome::not_owner);
    EXPECT_EQ(store().get(held_.sandbox_id)->expires_at, lab_end());

    // A pool sandbox is nobody's lease: not held, whoever asks.
    auto pool = store().list({SandboxStatus::available, "", 1});
    ASSERT_EQ(pool.items.size(), 1u);
    EXPECT_EQ(extend(pool.items[0].sandbox_id, "owner", 60).outcome, ExtendOutcome::not_allocated);
    EXPECT_EQ(extend(pool.items[0].sandbox_id, "", 60).outcome, ExtendOutcome::not_allocated);
    EXPECT_EQ(store().get(pool.items[0].sandbox_id)->status, SandboxStatus::available);
}

TEST_P(ExtendConformance, AReturnedSandboxIsNotHeld) {
    ASSERT_EQ(mark(held_.sandbox_id, "owner", kNow + 5).outcome, MarkOutcome::marked);
    EXPECT_EQ(extend(held_.sandbox_id, "owner", 60, kNow + 6).outcome, ExtendOutcome::not_allocated);
    EXPECT_EQ(extend(held_.sandbox_id, "intruder", 60, kNow + 6).outcome, ExtendOutcome::not_owner);
    const auto row = store().get(held_.sandbox_id);
    EXPECT_EQ(row->status, SandboxStatus::pending_deletion);
    EXPECT_EQ(row->expires_at, lab_end());
}

TEST_P(ExtendConformance, ExtendableUntilItsTimeRunsOutNotInGrace) {
    // One second before the lab's time is over: extended.
    auto before = extend(held_.sandbox_id, "owner", 600, lab_end() - 1);
    ASSERT_EQ(before.outcome, ExtendOutcome::extended);
    EXPECT_EQ(before.sandbox->expires_at, lab_end() + 600);

    // Once the new end has passed, even within the grace period, it is not extended any more
    // (its place in the track's limit went back to the track then); nothing changes.
    auto in_grace = extend(held_.sandbox_id, "owner", 600, lab_end() + 600);
    EXPECT_EQ(in_grace.outcome, ExtendOutcome::not_allocated);
    auto late = extend(held_.sandbox_id, "owner", 600, deadline() + 600);
    EXPECT_EQ(late.outcome, ExtendOutcome::not_allocated);
    EXPECT_EQ(store().get(held_.sandbox_id)->expires_at, lab_end() + 600);
    EXPECT_EQ(mark(held_.sandbox_id, "owner", deadline() + 600).outcome, MarkOutcome::expired);
}

TEST_P(ExtendConformance, ExpiryTakesItBackAtTheNewTimeNotTheOld) {
    ASSERT_EQ(extend(held_.sandbox_id, "owner", 3600).outcome, ExtendOutcome::extended);
    EXPECT_TRUE(lifecycle().expire_allocations(deadline(), lease_, 10).empty());
    EXPECT_TRUE(lifecycle().expire_allocations(deadline() + 3599, lease_, 10).empty());
    EXPECT_EQ(store().get(held_.sandbox_id)->status, SandboxStatus::allocated);
    // Allocation and return follow the new time too.
    EXPECT_EQ(allocate("owner", "", "", deadline() + 3599).outcome, AllocateOutcome::existing);

    const auto moved = lifecycle().expire_allocations(deadline() + 3600, lease_, 10);
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved[0].sandbox_id, held_.sandbox_id);
    EXPECT_EQ(moved[0].status, SandboxStatus::pending_deletion);
}

TEST_P(ExtendConformance, AnExtensionRacingExpiryIsNeverLost) {
    // Each round allocates a batch at one time, then races the expiry job (its clock at the
    // batch's deadline) against the holders extending one second before their lab's end. Every row ends
    // one of two ways: extended and still allocated on its new time, or taken back and the
    // extension answered not_allocated. Never extended and then expired on the old time.
    constexpr int kRounds = 4;
    constexpr int kBatch = 8;
    seed(kRounds * kBatch, "race-", "race-");
    for (int round = 0; round < kRounds; ++round) {
        const UnixSeconds at = kNow + 100'000 * (round + 1);
        const UnixSeconds round_deadline = at + lease_.lab_duration.count() + lease_.grace_period.count();
        std::vector<std::string> ids;
        for (int i = 0; i < kBatch; ++i) {
            auto r = allocate("r" + std::to_string(round) + "-" + std::to_string(i), "", "", at);
            ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
            ids.push_back(r.sandbox->sandbox_id);
        }
        std::vector<Sandbox> expired;
        std::vector<ExtendResult> results(kBatch);
        {
            std::jthread expiry(
                [&] { expired = lifecycle().expire_allocations(round_deadline, lease_, 100); });
            for (int i = 0; i < kBatch; ++i) {
                results[static_cast<std::size_t>(i)] = extend(
                    ids[static_cast<std::size_t>(i)], "r" + std::to_string(round) + "-" + std::to_string(i),
                    3600, at + lease_.lab_duration.count() - 1);
            }
        }
        for (int i = 0; i < kBatch; ++i) {
            const auto& id = ids[static_cast<std::size_t>(i)];
            const auto& r = results[static_cast<std::size_t>(i)];
            const bool taken = std::any_of(expired.begin(), expired.end(),
                                           [&](const Sandbox& s) { return s.sandbox_id == id; });
            const auto row = store().get(id);
            ASSERT_TRUE(row);
            if (r.outcome == ExtendOutcome::extended) {
                EXPECT_FALSE(taken) << id;
                EXPECT_EQ(row->status, SandboxStatus::allocated) << id;
                EXPECT_EQ(row->expires_at, at + lease_.lab_duration.count() + 3600) << id;
            } else {
                EXPECT_EQ(r.outcome, ExtendOutcome::not_allocated) << id;
                EXPECT_TRUE(taken) << id;
                EXPECT_EQ(row->status, SandboxStatus::pending_deletion) << id;
            }
        }
        // A run at the old deadline again finds nothing: the extended rows live on.
        EXPECT_TRUE(lifecycle().expire_allocations(round_deadline, lease_, 100).empty());
        // Return what is still held, so the next round's expiry sees only its own batch.
        for (int i = 0; i < kBatch; ++i) {
            if (results[static_cast<std::size_t>(i)].outcome == ExtendOutcome::extended) {
                EXPECT_EQ(mark(ids[static_cast<std::size_t>(i)],
                               "r" + std::to_string(round) + "-" + std::to_string(i), round_deadline)
                              .outcome,
                          MarkOutcome::marked);
            }
        }
    }
}

}  // namespace
}  // namespace broker::testing
