// Conformance: what one participant may hold. Keys are the participant's own; at most
// max_per_participant live allocations, however many requests race; an allocation past its
// lease is refused, not handed out again, until the expiry job takes it back.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "core/clock.hpp"
#include "service/allocation_service.hpp"
#include "store_harness.hpp"

namespace broker::testing {
namespace {

class ParticipantConformance : public StoreConformance {
  protected:
    // `threads` requests of one participant at the same moment, each with a key of its own.
    std::vector<AllocateResult> race_distinct_keys(const std::string& participant, int threads) {
        std::vector<std::optional<AllocateResult>> results(static_cast<std::size_t>(threads));
        std::atomic<int> errors{0};
        {
            std::vector<std::jthread> workers;
            for (int i = 0; i < threads; ++i) {
                workers.emplace_back([&, i] {
                    try {
                        results[static_cast<std::size_t>(i)] =
                            allocate(participant, "key-" + std::to_string(i));
                    } catch (const std::exception& e) {
                        ADD_FAILURE() << e.what();
                        ++errors;
                    }
                });
            }
        }
        EXPECT_EQ(errors.load(), 0);
        std::vector<AllocateResult> answered;
        for (auto& r : results) {
            if (r) answered.push_back(std::move(*r));
        }
        return answered;
    }
};
BROKER_FOR_EVERY_STORE(ParticipantConformance);

TEST_P(ParticipantConformance, ANewKeyFromAParticipantHoldingOneAnswersTheOneHeld) {
    seed(10);
    auto first = allocate("p1", "key-0");
    ASSERT_EQ(first.outcome, AllocateOutcome::allocated);
    for (int i = 1; i <= 5; ++i) {
        auto again = allocate("p1", "key-" + std::to_string(i), "", kNow + i);
        ASSERT_EQ(again.outcome, AllocateOutcome::existing) << i;
        EXPECT_EQ(again.sandbox->sandbox_id, first.sandbox->sandbox_id);
        EXPECT_EQ(again.sandbox->version, first.sandbox->version);
    }
    EXPECT_EQ(store().count_by_status()[SandboxStatus::allocated], 1);
}

TEST_P(ParticipantConformance, FiftyRacingKeysOfOneParticipantGetOneSandbox) {
    seed(60);
    const auto results = race_distinct_keys("racer", 50);
    ASSERT_EQ(results.size(), 50u);
    int allocated = 0;
    std::set<std::string> ids;
    for (const auto& r : results) {
        ASSERT_TRUE(r.outcome == AllocateOutcome::allocated || r.outcome == AllocateOutcome::existing);
        allocated += r.outcome == AllocateOutcome::allocated;
        ids.insert(r.sandbox->sandbox_id);
    }
    EXPECT_EQ(allocated, 1);
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::allocated], 1);
}

TEST_P(ParticipantConformance, FiftyRacingKeysGetExactlyTheLimit) {
    max_per_participant_ = 3;
    seed(60);
    const auto results = race_distinct_keys("racer", 50);
    ASSERT_EQ(results.size(), 50u);
    int allocated = 0, refused = 0;
    for (const auto& r : results) {
        allocated += r.outcome == AllocateOutcome::allocated;
        refused += r.outcome == AllocateOutcome::limit_reached;
    }
    EXPECT_EQ(allocated, 3);
    EXPECT_EQ(refused, 47);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::allocated], 3);
    // Other participants are not affected by the racer's limit.
    EXPECT_EQ(allocate("bystander").outcome, AllocateOutcome::allocated);
}

TEST_P(ParticipantConformance, BeyondTheLimitIsRefusedAndAReturnMakesRoom) {
    max_per_participant_ = 2;
    seed(5);
    auto a = allocate("p1", "a");
    auto b = allocate("p1", "b");
    ASSERT_EQ(a.outcome, AllocateOutcome::allocated);
    ASSERT_EQ(b.outcome, AllocateOutcome::allocated);
    auto c = allocate("p1", "c");
    EXPECT_EQ(c.outcome, AllocateOutcome::limit_reached);
    EXPECT_FALSE(c.sandbox);
    // A held key still answers at the limit.
    EXPECT_EQ(allocate("p1", "b").outcome, AllocateOutcome::existing);

    ASSERT_EQ(mark(a.sandbox->sandbox_id, "p1").outcome, MarkOutcome::marked);
    auto c_again = allocate("p1", "c");
    ASSERT_EQ(c_again.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate("p1", "d").outcome, AllocateOutcome::limit_reached);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::allocated], 2);
}

// Through the service, on a ManualClock: the lease rules of core decide the repeat answer.
TEST_P(ParticipantConformance, AnExpiredAllocationIsRefusedUntilTheExpiryJobTakesItBack) {
    seed(3);
    ManualClock clock(kNow);
    AllocationService service(store(), clock, lease_);
    const AllocateInput input{{"p1", "track"}, "", ""};
    auto first = service.allocate(input);
    ASSERT_EQ(first.outcome, AllocateOutcome::allocated);

    // Up to the end of the grace period the holding answers.
    clock.set(lease_.expired_from(kNow) - 1);
    auto within = service.allocate(input);
    EXPECT_EQ(within.outcome, AllocateOutcome::existing);
    EXPECT_EQ(within.sandbox->sandbox_id, first.sandbox->sandbox_id);

    // From then on, as mark-for-deletion does, allocate refuses it: with its key, and with a
    // new key (the one held would answer that under a limit of one).
    clock.set(lease_.expired_from(kNow));
    auto expired = service.allocate(input);
    EXPECT_EQ(expired.outcome, AllocateOutcome::expired);
    ASSERT_TRUE(expired.sandbox);
    EXPECT_EQ(expired.sandbox->sandbox_id, first.sandbox->sandbox_id);
    EXPECT_EQ(service.allocate({{"p1", "track"}, "another-key", ""}).outcome, AllocateOutcome::expired);
    EXPECT_EQ(service.mark_for_deletion(first.sandbox->sandbox_id, "p1").outcome, MarkOutcome::expired);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::allocated], 1);

    // Once the expiry job took it back, the participant holds nothing and starts afresh.
    ASSERT_EQ(lifecycle().expire_allocations(clock.now(), lease_, 10).size(), 1u);
    auto fresh = service.allocate(input);
    ASSERT_EQ(fresh.outcome, AllocateOutcome::allocated);
    EXPECT_NE(fresh.sandbox->sandbox_id, first.sandbox->sandbox_id);
}

TEST_P(ParticipantConformance, APrefixMatchingNoSandboxIsToldApartFromAnEmptyPart) {
    seed_named({"blue-1", "red-1", "gone-1"});
    // Every status but deleted counts as "in the pool": held and returned sandboxes too.
    auto red = allocate("p1", "", "red-");
    ASSERT_EQ(red.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate("p2", "", "red-").outcome, AllocateOutcome::pool_empty);
    ASSERT_EQ(mark(red.sandbox->sandbox_id, "p1").outcome, MarkOutcome::marked);
    EXPECT_EQ(allocate("p3", "", "red-").outcome, AllocateOutcome::pool_empty);
    EXPECT_EQ(allocate("p4", "", "rde-").outcome, AllocateOutcome::no_prefix_match);
    EXPECT_EQ(allocate("p5", "", "blue-").outcome, AllocateOutcome::allocated);
    // Not valid UTF-8: no stored name can start with it.
    EXPECT_EQ(allocate("p6", "", "blue\xff").outcome, AllocateOutcome::no_prefix_match);
}

}  // namespace
}  // namespace broker::testing
