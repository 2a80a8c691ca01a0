// Reservation and track-limit arithmetic: what is held back, what a track's allocation is
// charged to, and what the pool lacks for each reservation.
#include <gtest/gtest.h>

#include <map>

#include "core/quota.hpp"

namespace broker {
namespace {

Reservation res(std::string id, std::string track, std::int64_t count, std::string prefix = "",
                UnixSeconds starts = 100, UnixSeconds ends = 200, std::int64_t used = 0) {
    Reservation r;
    r.id = std::move(id);
    r.track = std::move(track);
    r.count = count;
    r.used = used;
    r.name_prefix = std::move(prefix);
    r.starts_at = starts;
    r.ends_at = ends;
    return r;
}

HasAvailable pool(std::map<std::string, std::int64_t> counts) {
    return [counts](const std::string& prefix, std::int64_t n) { return counts.at(prefix) >= n; };
}

TEST(CoreQuota, OutstandingOnlyInsideTheWindowAndNeverBelowZero) {
    const Reservation r = res("r", "t", 5, "", 100, 200, 2);
    EXPECT_EQ(r.outstanding_at(99), 0);
    EXPECT_EQ(r.outstanding_at(100), 3);
    EXPECT_EQ(r.outstanding_at(199), 3);
    EXPECT_EQ(r.outstanding_at(200), 0);
    EXPECT_EQ(r.pending_at(50), 3) << "pending before the window opens";
    EXPECT_EQ(res("r", "t", 2, "", 100, 200, 7).outstanding_at(150), 0);
}

TEST(CoreQuota, GateBlocksThePoolWhenOnlyHeldBackSandboxesRemain) {
    const std::vector<Reservation> others = {res("r", "t", 3)};
    EXPECT_FALSE(quota_gate(others, 150, pool({{"", 4}})).blocked_all);
    EXPECT_TRUE(quota_gate(others, 150, pool({{"", 3}})).blocked_all);
    EXPECT_FALSE(quota_gate(others, 250, pool({{"", 0}})).blocked_all) << "window over";
}

TEST(CoreQuota, GateBlocksOnlyTheExhaustedPrefix) {
    const std::vector<Reservation> others = {res("a", "t", 3, "a-"), res("b", "u", 1, "b-")};
    const auto gate = quota_gate(others, 150, pool({{"", 10}, {"a-", 3}, {"b-", 5}}));
    EXPECT_FALSE(gate.blocked_all);
    EXPECT_EQ(gate.blocked_prefixes, std::vector<std::string>{"a-"});
    EXPECT_TRUE(quota_gate(others, 150, pool({{"", 4}, {"a-", 3}, {"b-", 1}})).blocked_all)
        << "4 available, 4 held back in all";
}

TEST(CoreQuota, ChargesTheMatchingReservationThatEndsFirst) {
    const std::vector<Reservation> own = {res("late", "t", 2, "", 100, 300),
                                          res("soon", "t", 2, "", 100, 200), res("a", "t", 2, "a-", 100, 150),
                                          res("full", "t", 1, "", 100, 120, 1)};
    EXPECT_EQ(reservation_to_charge(own, "a-1", 110), "a");
    EXPECT_EQ(reservation_to_charge(own, "b-1", 110), "soon");
    EXPECT_EQ(reservation_to_charge(own, "b-1", 250), "late");
    EXPECT_FALSE(reservation_to_charge(own, "b-1", 400));
}

TEST(CoreQuota, ShortfallCountsOverlappingReservationsOnly) {
    const std::vector<Reservation> all = {res("thu", "class", 8, "", 100, 200),
                                          res("fri", "other", 5, "", 200, 300),
                                          res("thu2", "x", 4, "", 150, 250)};
    const auto shortfall = reservation_shortfalls(all, 50, [](const std::string&) { return 10; });
    EXPECT_EQ(shortfall[0], 2) << "8 - (10 - 4 of thu2)";
    EXPECT_EQ(shortfall[1], 0) << "5 - (10 - 4): fri overlaps thu2 only";
    EXPECT_EQ(shortfall[2], 4) << "10 - 8 - 5 covers nothing (both overlap it, if not each other)";
    EXPECT_EQ(reservation_shortfalls(all, 400, [](const std::string&) { return 0; })[0], 0) << "ended";
}

}  // namespace
}  // namespace broker
