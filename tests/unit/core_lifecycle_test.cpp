// Unit tests of the lifecycle rules: the transition graph and the lease arithmetic.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "core/lifecycle.hpp"

namespace broker {
namespace {

using S = SandboxStatus;

TEST(Lifecycle, AllowsExactlyTheEdgesOfTheDiagram) {
    const std::set<std::pair<S, S>> edges = {
        {S::available, S::allocated},      {S::available, S::stale},
        {S::stale, S::available},          {S::allocated, S::pending_deletion},
        {S::pending_deletion, S::deleted}, {S::pending_deletion, S::deletion_failed},
        {S::deletion_failed, S::deleted},  {S::deletion_failed, S::pending_deletion},
    };
    for (auto from : kAllStatuses) {
        for (auto to : kAllStatuses) {
            EXPECT_EQ(is_allowed_transition(from, to), edges.count({from, to}) == 1)
                << to_string(from) << " -> " << to_string(to);
        }
    }
}

TEST(Lifecycle, DeletedIsFinal) {
    for (auto to : kAllStatuses) EXPECT_FALSE(is_allowed_transition(S::deleted, to));
}

TEST(LeasePolicy, DefaultsAreFortyEightHoursAndThirtyMinutes) {
    LeasePolicy lease;
    EXPECT_EQ(lease.lab_duration, std::chrono::hours(48));
    EXPECT_EQ(lease.grace_period, std::chrono::minutes(30));
}

TEST(LeasePolicy, ExpiresAfterLabDurationPlusGrace) {
    const LeasePolicy lease{std::chrono::hours(2), std::chrono::minutes(10)};
    const UnixSeconds t0 = 1'700'000'000;
    EXPECT_EQ(lease.expires_at(t0), t0 + 7200);
    EXPECT_EQ(lease.expired_from(t0), t0 + 7200 + 600);

    Sandbox s;
    s.allocated_at = t0;
    EXPECT_FALSE(lease.is_expired(s, t0));
    EXPECT_FALSE(lease.is_expired(s, t0 + 7200));  // past expires_at, still in grace
    EXPECT_FALSE(lease.is_expired(s, t0 + 7799));
    EXPECT_TRUE(lease.is_expired(s, t0 + 7800));
    EXPECT_TRUE(lease.is_expired(s, t0 + 100'000));
}

TEST(LeasePolicy, NeverAllocatedIsNeverExpired) {
    const LeasePolicy lease{std::chrono::seconds(1), std::chrono::seconds(0)};
    Sandbox s;
    EXPECT_FALSE(lease.is_expired(s, 4'000'000'000));
}

TEST(LeasePolicy, ExpiryCutoffAgreesWithIsExpired) {
    const LeasePolicy lease{std::chrono::hours(1), std::chrono::minutes(5)};
    const UnixSeconds now = 1'700'000'000;
    const UnixSeconds cutoff = lease.allocated_before_is_expired(now);
    Sandbox at_cutoff;
    at_cutoff.allocated_at = cutoff;
    Sandbox after_cutoff;
    after_cutoff.allocated_at = cutoff + 1;
    // Allocated at the cutoff: exactly at expired_from, so expired; a second later: not yet.
    EXPECT_TRUE(lease.is_expired(at_cutoff, now));
    EXPECT_FALSE(lease.is_expired(after_cutoff, now));
}

}  // namespace
}  // namespace broker

namespace broker {
namespace {

TEST(CoreMarkDecision, FollowsTheLifecycleForTheOwnerAndRefusesEveryoneElse) {
    const LeasePolicy lease{std::chrono::hours(2), std::chrono::minutes(10)};
    Sandbox row;
    row.allocated_to_track = "p1";
    row.status = SandboxStatus::allocated;
    row.allocated_at = 1000;
    const UnixSeconds fresh = 1000 + 60;
    const UnixSeconds late = lease.expired_from(1000);

    EXPECT_EQ(decide_mark_for_deletion(nullptr, "p1", fresh, lease), MarkOutcome::not_found);
    EXPECT_EQ(decide_mark_for_deletion(&row, "p1", fresh, lease), MarkOutcome::marked);
    EXPECT_EQ(decide_mark_for_deletion(&row, "p2", fresh, lease), MarkOutcome::not_owner);
    EXPECT_EQ(decide_mark_for_deletion(&row, "", fresh, lease), MarkOutcome::not_owner);
    EXPECT_EQ(decide_mark_for_deletion(&row, "p1", late, lease), MarkOutcome::expired);
    for (auto status :
         {SandboxStatus::pending_deletion, SandboxStatus::deletion_failed, SandboxStatus::deleted}) {
        row.status = status;
        EXPECT_EQ(decide_mark_for_deletion(&row, "p1", late, lease), MarkOutcome::already_marked);
    }
    Sandbox unheld;  // available, no owner: an empty participant id must not match it
    EXPECT_EQ(decide_mark_for_deletion(&unheld, "", fresh, lease), MarkOutcome::not_owner);
    unheld.allocated_to_track = "p1";
    unheld.status = SandboxStatus::stale;
    EXPECT_EQ(decide_mark_for_deletion(&unheld, "p1", fresh, lease), MarkOutcome::not_owner);
}

Sandbox held_since(UnixSeconds allocated_at, UnixSeconds expires_at, const std::string& owner = "p") {
    Sandbox s;
    s.sandbox_id = "1";
    s.status = S::allocated;
    s.allocated_to_track = owner;
    s.allocated_at = allocated_at;
    s.expires_at = expires_at;
    return s;
}

TEST(LeasePolicy, TheRowsOwnExpiryDecidesAndTheCapIsTwiceTheLabByDefault) {
    LeasePolicy lease{std::chrono::hours(2), std::chrono::minutes(10)};
    const Sandbox extended = held_since(1000, 1000 + 3 * 3600);
    EXPECT_FALSE(lease.is_expired(extended, 1000 + 3 * 3600 + 599));
    EXPECT_TRUE(lease.is_expired(extended, 1000 + 3 * 3600 + 600));
    EXPECT_EQ(lease.max_expires_at(1000), 1000 + 4 * 3600);
    lease.max_duration = std::chrono::hours(3);
    EXPECT_EQ(lease.max_expires_at(1000), 1000 + 3 * 3600);
}

TEST(Extension, MovesTheEndCutsAtTheCapAndRefusesAtIt) {
    const LeasePolicy lease{std::chrono::hours(2), std::chrono::minutes(10), std::chrono::hours(3)};
    const Sandbox row = held_since(1000, 1000 + 7200);
    auto d = decide_extension(&row, "p", 600, 2000, lease);
    EXPECT_EQ(d.outcome, ExtendOutcome::extended);
    EXPECT_EQ(d.old_expires_at, 1000 + 7200);
    EXPECT_EQ(d.new_expires_at, 1000 + 7800);
    EXPECT_EQ(d.max_expires_at, 1000 + 10800);

    d = decide_extension(&row, "p", 3600, 2000, lease);
    EXPECT_EQ(d.outcome, ExtendOutcome::extended);
    EXPECT_EQ(d.new_expires_at, 1000 + 10800);  // exactly at the cap: not cut
    d = decide_extension(&row, "p", 3601, 2000, lease);
    EXPECT_EQ(d.outcome, ExtendOutcome::capped);
    EXPECT_EQ(d.new_expires_at, 1000 + 10800);

    const Sandbox at_cap = held_since(1000, 1000 + 10800);
    EXPECT_EQ(decide_extension(&at_cap, "p", 1, 2000, lease).outcome, ExtendOutcome::limit_reached);
}

TEST(Extension, OnlyTheHolderOfALiveLease) {
    const LeasePolicy lease{std::chrono::hours(2), std::chrono::minutes(10)};
    const Sandbox row = held_since(1000, 1000 + 7200);
    EXPECT_EQ(decide_extension(nullptr, "p", 60, 2000, lease).outcome, ExtendOutcome::not_found);
    EXPECT_EQ(decide_extension(&row, "q", 60, 2000, lease).outcome, ExtendOutcome::not_owner);
    EXPECT_EQ(decide_extension(&row, "", 60, 2000, lease).outcome, ExtendOutcome::not_owner);
    // Extendable until the lease's time runs out, not in the grace period after it.
    EXPECT_EQ(decide_extension(&row, "p", 60, 1000 + 7200 - 1, lease).outcome, ExtendOutcome::extended);
    EXPECT_EQ(decide_extension(&row, "p", 60, 1000 + 7200, lease).outcome, ExtendOutcome::not_allocated);
    EXPECT_EQ(decide_extension(&row, "p", 60, 1000 + 7200 + 599, lease).outcome,
              ExtendOutcome::not_allocated);

    Sandbox returned = row;
    returned.status = S::pending_deletion;
    EXPECT_EQ(decide_extension(&returned, "p", 60, 2000, lease).outcome, ExtendOutcome::not_allocated);
    EXPECT_EQ(decide_extension(&returned, "q", 60, 2000, lease).outcome, ExtendOutcome::not_owner);
    Sandbox pool;
    pool.sandbox_id = "2";
    EXPECT_EQ(decide_extension(&pool, "p", 60, 2000, lease).outcome, ExtendOutcome::not_allocated);
    EXPECT_EQ(decide_extension(&pool, "", 60, 2000, lease).outcome, ExtendOutcome::not_allocated);
}

}  // namespace
}  // namespace broker
