// Conformance: allocation — distinct sandboxes, idempotency, races, the name prefix.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "store_harness.hpp"

namespace broker::testing {
namespace {

class AllocateConformance : public StoreConformance {};
BROKER_FOR_EVERY_STORE(AllocateConformance);

TEST_P(AllocateConformance, HandsOutDistinctSandboxesUntilThePoolIsEmpty) {
    seed(5);
    std::set<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        const std::string participant = "p" + std::to_string(i);
        auto result = allocate(participant);
        ASSERT_EQ(result.outcome, AllocateOutcome::allocated);
        ASSERT_TRUE(result.sandbox);
        const Sandbox& s = *result.sandbox;
        EXPECT_EQ(s.status, SandboxStatus::allocated);
        EXPECT_EQ(s.allocated_to_track, participant);
        EXPECT_EQ(s.track_name, "track-of-" + participant);
        EXPECT_EQ(s.idempotency_key, participant);
        EXPECT_EQ(s.allocated_at, kNow);
        EXPECT_EQ(s.expires_at, lease_.expires_at(kNow));
        EXPECT_EQ(s.updated_at, kNow);
        EXPECT_EQ(s.version, 2);
        EXPECT_FALSE(s.deletion_requested_at);
        EXPECT_FALSE(s.name.empty());
        EXPECT_FALSE(s.external_id.empty());
        EXPECT_EQ(result.conflicts, 0) << "no concurrent allocation: no race to lose";
        ids.insert(s.sandbox_id);
    }
    EXPECT_EQ(ids.size(), 5u);

    auto empty = allocate("late");
    EXPECT_EQ(empty.outcome, AllocateOutcome::pool_empty);
    EXPECT_FALSE(empty.sandbox);
}

TEST_P(AllocateConformance, WhatAllocationReturnedIsWhatGetReturns) {
    seed(2);
    auto result = allocate("p1");
    ASSERT_TRUE(result.sandbox);
    auto stored = store().get(result.sandbox->sandbox_id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, SandboxStatus::allocated);
    EXPECT_EQ(stored->allocated_to_track, "p1");
    EXPECT_EQ(stored->expires_at, result.sandbox->expires_at);
    EXPECT_EQ(stored->version, result.sandbox->version);
    EXPECT_FALSE(store().get("no-such-id"));
}

TEST_P(AllocateConformance, SameKeyAgainReturnsTheSameSandboxAndChangesNothing) {
    seed(3);
    auto first = allocate("p1");
    ASSERT_EQ(first.outcome, AllocateOutcome::allocated);

    auto again = allocate("p1", "", "", kNow + 60);
    ASSERT_EQ(again.outcome, AllocateOutcome::existing);
    ASSERT_TRUE(again.sandbox);
    EXPECT_EQ(again.sandbox->sandbox_id, first.sandbox->sandbox_id);
    EXPECT_EQ(again.sandbox->allocated_at, kNow);
    EXPECT_EQ(again.sandbox->version, first.sandbox->version);
    EXPECT_EQ(again.sandbox->updated_at, first.sandbox->updated_at);

    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::available], 2);
}

TEST_P(AllocateConformance, AKeyBelongsToItsParticipant) {
    seed(3);
    auto first = allocate("p1", "lab-key");
    ASSERT_EQ(first.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(first.sandbox->idempotency_key, "lab-key");

    EXPECT_EQ(allocate("p1", "lab-key").outcome, AllocateOutcome::existing);
    // Another participant sending the same key gets a sandbox of its own.
    auto other = allocate("p2", "lab-key");
    ASSERT_EQ(other.outcome, AllocateOutcome::allocated);
    EXPECT_NE(other.sandbox->sandbox_id, first.sandbox->sandbox_id);
    EXPECT_EQ(other.sandbox->allocated_to_track, "p2");
    EXPECT_EQ(allocate("p1", "lab-key").sandbox->sandbox_id, first.sandbox->sandbox_id);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::allocated], 2);
}

TEST_P(AllocateConformance, UsingAnotherParticipantsIdAsTheKeyDoesNotLockItOut) {
    seed(3);
    // A takes B's id (B's default key) as its key before B arrives.
    auto a = allocate("participant-a", "participant-b");
    ASSERT_EQ(a.outcome, AllocateOutcome::allocated);
    auto b = allocate("participant-b");
    ASSERT_EQ(b.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(b.sandbox->allocated_to_track, "participant-b");
    EXPECT_NE(b.sandbox->sandbox_id, a.sandbox->sandbox_id);
    auto b_again = allocate("participant-b");
    EXPECT_EQ(b_again.outcome, AllocateOutcome::existing);
    EXPECT_EQ(b_again.sandbox->sandbox_id, b.sandbox->sandbox_id);
}

TEST_P(AllocateConformance, KeyOfAReturnedSandboxMayAllocateAgain) {
    seed(2);
    auto first = allocate("p1");
    ASSERT_EQ(mark(first.sandbox->sandbox_id, "p1").outcome, MarkOutcome::marked);
    auto second = allocate("p1");
    ASSERT_EQ(second.outcome, AllocateOutcome::allocated);
    EXPECT_NE(second.sandbox->sandbox_id, first.sandbox->sandbox_id);
}

TEST_P(AllocateConformance, TwoHundredConcurrentParticipantsGetDistinctSandboxes) {
    constexpr int kParticipants = 200;
    seed(kParticipants + 20);
    std::vector<std::optional<AllocateResult>> results(kParticipants);
    std::atomic<int> errors{0};
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < kParticipants; ++i) {
            threads.emplace_back([&, i] {
                try {
                    results[static_cast<std::size_t>(i)] = allocate("participant-" + std::to_string(i));
                } catch (const std::exception&) {
                    ++errors;
                }
            });
        }
    }
    ASSERT_EQ(errors.load(), 0);
    std::set<std::string> ids;
    for (int i = 0; i < kParticipants; ++i) {
        const auto& r = results[static_cast<std::size_t>(i)];
        ASSERT_TRUE(r && r->outcome == AllocateOutcome::allocated) << "participant " << i;
        EXPECT_EQ(r->sandbox->allocated_to_track, "participant-" + std::to_string(i));
        ids.insert(r->sandbox->sandbox_id);
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kParticipants));
    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::allocated], kParticipants);
    EXPECT_EQ(counts[SandboxStatus::available], 20);
}

TEST_P(AllocateConformance, OneParticipantRacingItselfGetsOneSandbox) {
    constexpr int kThreads = 20;
    seed(30);
    std::vector<std::optional<AllocateResult>> results(kThreads);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < kThreads; ++i) {
            threads.emplace_back([&, i] { results[static_cast<std::size_t>(i)] = allocate("racer"); });
        }
    }
    int allocated = 0;
    int existing = 0;
    std::set<std::string> ids;
    for (const auto& r : results) {
        ASSERT_TRUE(r && r->sandbox);
        allocated += r->outcome == AllocateOutcome::allocated;
        existing += r->outcome == AllocateOutcome::existing;
        ids.insert(r->sandbox->sandbox_id);
    }
    EXPECT_EQ(allocated, 1);
    EXPECT_EQ(existing, kThreads - 1);
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::allocated], 1);
}

TEST_P(AllocateConformance, PrefixHandsOutOnlyMatchingNames) {
    seed_named({"lab-a-1", "lab-a-2", "lab-b-1", "lab-", "lab", "lab-a", "other", "lab-a\x7f"});
    std::set<std::string> names;
    for (int i = 0; i < 3; ++i) {
        auto r = allocate("p" + std::to_string(i), "", "lab-a-");
        if (r.outcome != AllocateOutcome::allocated) break;
        names.insert(r.sandbox->name);
    }
    EXPECT_EQ(names, (std::set<std::string>{"lab-a-1", "lab-a-2"}));
    EXPECT_EQ(allocate("p9", "", "lab-a-").outcome, AllocateOutcome::pool_empty);
    EXPECT_EQ(allocate("p10", "", "zzz").outcome, AllocateOutcome::no_prefix_match);
    // The rest of the pool is untouched, and reachable without a prefix.
    EXPECT_EQ(store().count_by_status()[SandboxStatus::available], 6);
    auto any = allocate("p11");
    ASSERT_EQ(any.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(any.sandbox->name.rfind("lab-a-", 0), std::string::npos);
}

TEST_P(AllocateConformance, PrefixCharactersAreLiteral) {
    // LIKE and GLOB wildcards, escapes and the prefix's own end must not widen the match.
    seed_named({"lab_1", "labX1", "lab%1", "lab%", "lab", "lab*1", "lab\\1", "lab\\", "labY\\"});
    auto r = allocate("p1", "", "lab_");
    ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(r.sandbox->name, "lab_1");
    EXPECT_EQ(allocate("p2", "", "lab_").outcome, AllocateOutcome::pool_empty);

    std::set<std::string> percent;
    for (int i = 0; i < 3; ++i) {
        auto p = allocate("q" + std::to_string(i), "", "lab%");
        if (p.outcome != AllocateOutcome::allocated) break;
        percent.insert(p.sandbox->name);
    }
    EXPECT_EQ(percent, (std::set<std::string>{"lab%1", "lab%"}));

    auto star = allocate("s1", "", "lab*");
    ASSERT_EQ(star.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(star.sandbox->name, "lab*1");
    std::set<std::string> backslash;
    for (int i = 0; i < 3; ++i) {
        auto b = allocate("b" + std::to_string(i), "", "lab\\");
        if (b.outcome != AllocateOutcome::allocated) break;
        backslash.insert(b.sandbox->name);
    }
    EXPECT_EQ(backslash, (std::set<std::string>{"lab\\1", "lab\\"}));
    // The failure path is literal too: nothing is named like these, whatever a pattern would match.
    for (const char* pattern : {"lab_%", "lab*X", "%", "_", "*", "\\", "lab\\%"}) {
        EXPECT_EQ(allocate("w", "", pattern).outcome, AllocateOutcome::no_prefix_match) << pattern;
    }
    // "lab_" names a sandbox that is taken now: nothing available, but not a typo.
    EXPECT_EQ(allocate("x1", "", "lab_").outcome, AllocateOutcome::pool_empty);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::available],
              3);  // labX1, lab and labY with a backslash
}

TEST_P(AllocateConformance, PrefixEndingInTheHighestCodePoint) {
    // U+10FFFF is the largest UTF-8 sequence (F4 8F BF BF): the upper bound of the range
    // must be computed on bytes without stepping over names that merely sort after it.
    const std::string top = "\xF4\x8F\xBF\xBF";
    seed_named({"edge-" + top + "1", "edge-" + top + top, "edge-" + top, "edge-\xF4\x8F\xBF\xBE", "edge.",
                "edge-~"});
    std::set<std::string> names;
    for (int i = 0; i < 4; ++i) {
        auto r = allocate("p" + std::to_string(i), "", "edge-" + top);
        if (r.outcome != AllocateOutcome::allocated) break;
        names.insert(r.sandbox->name);
    }
    EXPECT_EQ(names, (std::set<std::string>{"edge-" + top + "1", "edge-" + top + top, "edge-" + top}));
    EXPECT_EQ(store().count_by_status()[SandboxStatus::available], 3);
}

}  // namespace
}  // namespace broker::testing
