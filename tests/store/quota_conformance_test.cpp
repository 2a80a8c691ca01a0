// Conformance: reservations and track limits — kept inside each store's allocation step,
// under concurrency, and only during a reservation's window (on the injected clock).
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "store_harness.hpp"

namespace broker::testing {
namespace {

class QuotaConformance : public StoreConformance {
  protected:
    AllocateResult allocate_for(const std::string& participant, const std::string& track,
                                UnixSeconds now = kNow, const std::string& prefix = "") {
        AllocateRequest r = request(participant, "", prefix, now);
        r.track_name = track;
        return store().allocate(r);
    }

    Reservation reservation(const std::string& id, const std::string& track, std::int64_t count,
                            UnixSeconds starts_at = kNow - 60, UnixSeconds ends_at = kNow + 3600,
                            const std::string& prefix = "") {
        Reservation r;
        r.id = id;
        r.track = track;
        r.count = count;
        r.name_prefix = prefix;
        r.starts_at = starts_at;
        r.ends_at = ends_at;
        r.created_at = kNow - 120;
        return r;
    }

    std::int64_t used_of(const std::string& id) {
        auto r = store().get_reservation(id);
        return r ? r->used : -1;
    }
};
BROKER_FOR_EVERY_STORE(QuotaConformance);

TEST_P(QuotaConformance, ReservationsAreStoredListedAndCancelled) {
    store().create_reservation(reservation("res-b", "dns", 5, kNow + 100, kNow + 200, "lab-"));
    store().create_reservation(reservation("res-a", "dhcp", 2, kNow, kNow + 100));
    const auto all = store().list_reservations();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, "res-a") << "ordered by starts_at";
    EXPECT_EQ(all[1].id, "res-b");
    EXPECT_EQ(all[1].track, "dns");
    EXPECT_EQ(all[1].name_prefix, "lab-");
    EXPECT_EQ(all[1].count, 5);
    EXPECT_EQ(all[1].used, 0);
    EXPECT_EQ(all[1].starts_at, kNow + 100);
    EXPECT_EQ(all[1].ends_at, kNow + 200);
    EXPECT_EQ(all[1].created_at, kNow - 120);
    ASSERT_TRUE(store().get_reservation("res-a"));
    EXPECT_FALSE(store().get_reservation("no-such"));
    EXPECT_TRUE(store().cancel_reservation("res-a"));
    EXPECT_FALSE(store().cancel_reservation("res-a"));
    EXPECT_FALSE(store().get_reservation("res-a"));
    EXPECT_EQ(store().list_reservations().size(), 1u);
}

TEST_P(QuotaConformance, TrackLimitsAreSetReplacedListedAndRemoved) {
    store().set_track_limit("dns", 3);
    store().set_track_limit("dhcp", 1);
    store().set_track_limit("dns", 2);
    auto limits = store().list_track_limits(kNow);
    ASSERT_EQ(limits.size(), 2u);
    EXPECT_EQ(limits[0].track, "dhcp");
    EXPECT_EQ(limits[1].track, "dns");
    EXPECT_EQ(limits[1].max_active, 2);
    EXPECT_EQ(limits[1].active, 0);
    EXPECT_TRUE(store().remove_track_limit("dhcp"));
    EXPECT_FALSE(store().remove_track_limit("dhcp"));
    EXPECT_EQ(store().list_track_limits(kNow).size(), 1u);
}

TEST_P(QuotaConformance, ACappedTrackHoldsAtMostItsLimitAndItsHoldersStillGetTheirs) {
    seed(6);
    store().set_track_limit("dns", 2);
    auto first = allocate_for("p1", "dns");
    ASSERT_EQ(first.outcome, AllocateOutcome::allocated);
    ASSERT_EQ(allocate_for("p2", "dns").outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate_for("p3", "dns").outcome, AllocateOutcome::track_limit_reached);
    auto again = allocate_for("p1", "dns", kNow + 5);
    EXPECT_EQ(again.outcome, AllocateOutcome::existing);
    EXPECT_EQ(again.sandbox->sandbox_id, first.sandbox->sandbox_id);
    EXPECT_EQ(allocate_for("q1", "other").outcome, AllocateOutcome::allocated)
        << "other tracks are not capped";
    EXPECT_EQ(store().list_track_limits(kNow)[0].active, 2);

    // A returned sandbox frees its place; an expired one no longer counts.
    ASSERT_EQ(mark(first.sandbox->sandbox_id, "p1").outcome, MarkOutcome::marked);
    EXPECT_EQ(allocate_for("p3", "dns", kNow + 10).outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate_for("p4", "dns", kNow + 10).outcome, AllocateOutcome::track_limit_reached);
    const UnixSeconds later = lease_.expires_at(kNow) + 5;
    EXPECT_EQ(store().list_track_limits(later)[0].active, 1) << "p2's allocation expired; p3's has not";
    EXPECT_EQ(allocate_for("p4", "dns", later).outcome, AllocateOutcome::allocated);

    ASSERT_TRUE(store().remove_track_limit("dns"));
    EXPECT_EQ(allocate_for("p5", "dns", later).outcome, AllocateOutcome::allocated);
}

TEST_P(QuotaConformance, AReservationHoldsBackItsOutstandingCountFromOtherTracks) {
    seed(5);
    store().create_reservation(reservation("res-1", "class", 3));
    EXPECT_EQ(allocate_for("o1", "self-paced").outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate_for("o2", "self-paced").outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate_for("o3", "self-paced").outcome, AllocateOutcome::reserved_for_others);
    EXPECT_EQ(allocate_for("o4", "").outcome, AllocateOutcome::reserved_for_others)
        << "no track: another track";
    for (int i = 0; i < 3; ++i) {
        auto r = allocate_for("c" + std::to_string(i), "class");
        ASSERT_EQ(r.outcome, AllocateOutcome::allocated) << i;
        EXPECT_EQ(used_of("res-1"), i + 1);
    }
    EXPECT_EQ(allocate_for("c9", "class").outcome, AllocateOutcome::pool_empty);

    // A returned seat stays used: the reservation holds nothing more back.
    seed(2, "late-", "late-");
    const auto c0 = store().get_reservation("res-1");
    ASSERT_TRUE(c0);
    EXPECT_EQ(c0->used, 3);
    EXPECT_EQ(allocate_for("o5", "self-paced").outcome, AllocateOutcome::allocated);
}

TEST_P(QuotaConformance, TheTracksOwnAllocationsBeyondItsCountAreNotCharged) {
    seed(6);
    store().create_reservation(reservation("res-1", "class", 2));
    for (int i = 0; i < 4; ++i)
        ASSERT_EQ(allocate_for("c" + std::to_string(i), "class").outcome, AllocateOutcome::allocated);
    EXPECT_EQ(used_of("res-1"), 2);
    EXPECT_EQ(allocate_for("o1", "other").outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate_for("o2", "other").outcome, AllocateOutcome::allocated);
}

TEST_P(QuotaConformance, NothingIsHeldBackBeforeOrAfterTheWindow) {
    seed(6);
    store().create_reservation(reservation("res-1", "class", 4, kNow + 100, kNow + 200));
    EXPECT_EQ(allocate_for("o1", "other", kNow).outcome, AllocateOutcome::allocated) << "before the window";
    EXPECT_EQ(allocate_for("o2", "other", kNow + 99).outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocate_for("o3", "other", kNow + 100).outcome, AllocateOutcome::reserved_for_others)
        << "4 available, 4 held back";
    EXPECT_EQ(allocate_for("c1", "class", kNow + 150).outcome, AllocateOutcome::allocated);
    EXPECT_EQ(used_of("res-1"), 1);
    EXPECT_EQ(allocate_for("o3", "other", kNow + 199).outcome, AllocateOutcome::reserved_for_others);
    EXPECT_EQ(allocate_for("o3", "other", kNow + 200).outcome, AllocateOutcome::allocated)
        << "after the window";
}

TEST_P(QuotaConformance, APrefixedReservationHoldsBackOnlyMatchingSandboxes) {
    seed(3, "a-", "a");
    seed(3, "b-", "b");
    store().create_reservation(reservation("res-a", "class", 3, kNow - 10, kNow + 100, "a-"));
    for (int i = 0; i < 3; ++i) {
        auto r = allocate_for("o" + std::to_string(i), "other");
        ASSERT_EQ(r.outcome, AllocateOutcome::allocated) << i;
        EXPECT_EQ(r.sandbox->name.substr(0, 2), "b-") << "the a- sandboxes are held back";
    }
    EXPECT_EQ(allocate_for("o9", "other").outcome, AllocateOutcome::reserved_for_others);
    EXPECT_EQ(allocate_for("o8", "other", kNow, "a-").outcome, AllocateOutcome::reserved_for_others);
    auto c = allocate_for("c1", "class", kNow, "a-");
    ASSERT_EQ(c.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(used_of("res-a"), 1);
}

TEST_P(QuotaConformance, ACancelledReservationHoldsNothingBack) {
    seed(2);
    store().create_reservation(reservation("res-1", "class", 2));
    EXPECT_EQ(allocate_for("o1", "other").outcome, AllocateOutcome::reserved_for_others);
    ASSERT_TRUE(store().cancel_reservation("res-1"));
    EXPECT_EQ(allocate_for("o1", "other").outcome, AllocateOutcome::allocated);
}

// 100 concurrent allocations from two tracks against a reservation at the pool's edge: the
// other track never gets more than the unreserved remainder.
TEST_P(QuotaConformance, ConcurrentTracksNeverTakeWhatIsHeldBack) {
    constexpr int kPool = 30;
    constexpr int kReserved = 20;
    seed(kPool);
    store().create_reservation(reservation("res-1", "class", kReserved));
    std::atomic<int> others{0}, class_taken{0}, errors{0};
    std::string first_error;
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 100; ++i) {
            threads.emplace_back([&, i] {
                const bool in_class = i % 2 == 0;
                try {
                    auto r = allocate_for((in_class ? "c" : "o") + std::to_string(i),
                                          in_class ? "class" : "other");
                    if (r.outcome == AllocateOutcome::allocated) ++(in_class ? class_taken : others);
                } catch (const std::exception& e) {
                    if (++errors == 1) first_error = e.what();
                }
            });
        }
    }
    EXPECT_EQ(errors.load(), 0) << first_error;
    EXPECT_LE(others.load(), kPool - kReserved);
    EXPECT_GE(class_taken.load(), kReserved) << "the class always gets its reserved count";
    EXPECT_EQ(others.load() + class_taken.load(), kPool) << "nothing is left unused";
    EXPECT_EQ(used_of("res-1"), kReserved);
}

TEST_P(QuotaConformance, ConcurrentRequestsOfACappedTrackNeverExceedItsLimit) {
    seed(40);
    store().set_track_limit("dns", 5);
    std::atomic<int> taken{0}, refused{0}, errors{0};
    std::string first_error;
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 50; ++i) {
            threads.emplace_back([&, i] {
                try {
                    auto r = allocate_for("p" + std::to_string(i), "dns");
                    if (r.outcome == AllocateOutcome::allocated) ++taken;
                    if (r.outcome == AllocateOutcome::track_limit_reached) ++refused;
                } catch (const std::exception& e) {
                    if (++errors == 1) first_error = e.what();
                }
            });
        }
    }
    EXPECT_EQ(errors.load(), 0) << first_error;
    EXPECT_EQ(taken.load(), 5);
    EXPECT_EQ(refused.load(), 45);
    EXPECT_EQ(store().list_track_limits(kNow)[0].active, 5);
}

}  // namespace
}  // namespace broker::testing
