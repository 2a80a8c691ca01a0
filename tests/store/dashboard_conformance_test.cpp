// Conformance: what the operators' dashboard reads — filtered pages, allocation windows,
// the clean-up backlog and failures, and the pool's time series — on every store.
#include <gtest/gtest.h>

#include <set>

#include "store/dashboard_store.hpp"
#include "store_harness.hpp"

namespace broker::testing {
namespace {

class DashboardConformance : public StoreConformance {
  protected:
    DashboardStore& dash() { return dashboard(); }

    // Allocates one sandbox to `participant` under `track` at `at`.
    std::string take(const std::string& participant, const std::string& track, UnixSeconds at) {
        AllocateRequest r = request(participant, "", "", at);
        r.track_name = track;
        const auto result = store().allocate(r);
        EXPECT_EQ(result.outcome, AllocateOutcome::allocated) << participant;
        return result.sandbox ? result.sandbox->sandbox_id : std::string();
    }

    // Every page of the search, following next_after; the ids in order.
    std::vector<std::string> search_all(SandboxSearch query, int limit = 3) {
        query.page.limit = limit;
        std::vector<std::string> ids;
        for (int pages = 0; pages < 1000; ++pages) {
            const ListPage page = dash().search(query);
            EXPECT_LE(page.items.size(), static_cast<std::size_t>(limit));
            for (const auto& s : page.items) ids.push_back(s.sandbox_id);
            if (!page.next_after) break;
            query.page.after_sandbox_id = *page.next_after;
        }
        return ids;
    }

    static SandboxSearch filter(std::string q, std::string track = "", std::string prefix = "") {
        SandboxSearch s;
        s.q = std::move(q);
        s.track = std::move(track);
        s.name_prefix = std::move(prefix);
        return s;
    }
};
BROKER_FOR_EVERY_STORE(DashboardConformance);

TEST_P(DashboardConformance, SearchFiltersByQueryTrackAndNamePrefix) {
    seed(6, "alpha-", "a-");
    seed(5, "beta-", "b-");
    const std::string dns1 = take("p1", "dns", kNow);
    const std::string dns2 = take("p2", "dns", kNow);
    const std::string dhcp = take("p3", "dhcp", kNow);
    EXPECT_EQ(dns1, "a-00000");

    using V = std::vector<std::string>;
    EXPECT_EQ(search_all(filter("", "", "beta-")),
              (V{"b-00000", "b-00001", "b-00002", "b-00003", "b-00004"}));
    EXPECT_EQ(search_all(filter("", "dns")), (V{dns1, dns2}));
    EXPECT_EQ(search_all(filter("p3")), (V{dhcp}));            // the participant
    EXPECT_EQ(search_all(filter("b-00003")), (V{"b-00003"}));  // an exact id
    EXPECT_EQ(search_all(filter("ha-0000")),
              (V{"a-00000", "a-00001", "a-00002", "a-00003", "a-00004", "a-00005"}));
    EXPECT_EQ(search_all(filter("", "", "alpha-0000")).size(), 6u);
    EXPECT_TRUE(search_all(filter("", "", "gamma")).empty());
    EXPECT_TRUE(search_all(filter("", "nope")).empty());

    // With a status, and several filters at once.
    SandboxSearch held = filter("", "dns", "alpha-");
    held.page.status = SandboxStatus::allocated;
    EXPECT_EQ(search_all(held), (V{dns1, dns2}));
    held.page.status = SandboxStatus::available;
    EXPECT_TRUE(search_all(held).empty());

    // Paging one at a time visits every match once, in id order.
    EXPECT_EQ(search_all(filter("", "", "beta-"), 1).size(), 5u);
}

TEST_P(DashboardConformance, AllocationWindowCountsDurationsTracksAndTheRecentRate) {
    seed(5);
    const std::string finished = take("p1", "dns", kNow - 7200);
    ASSERT_EQ(mark(finished, "p1", kNow - 3600).outcome, MarkOutcome::marked);  // held for an hour
    take("p2", "dhcp", kNow - 600);                                             // held for 10 minutes so far
    const std::string old = take("p3", "dns", kNow - 100'000);                  // before the window
    ASSERT_EQ(mark(old, "p3", kNow - 99'000).outcome, MarkOutcome::marked);

    const AllocationWindowStats w = dash().allocation_window({kNow - 86'400, kNow, kNow - 900, 10});
    EXPECT_EQ(w.allocations, 2);
    EXPECT_EQ(w.active, 1);
    EXPECT_EQ(w.total_sec, 3600 + 600);
    EXPECT_EQ(w.longest_sec, 3600);
    EXPECT_EQ(w.shortest_sec, 600);
    EXPECT_EQ(w.recent, 1);
    ASSERT_EQ(w.tracks.size(), 2u);
    EXPECT_EQ(w.tracks[0].track, "dhcp");  // equal totals: by name
    EXPECT_EQ(w.tracks[0].active, 1);
    EXPECT_EQ(w.tracks[0].total, 1);
    EXPECT_EQ(w.tracks[1].track, "dns");
    EXPECT_EQ(w.tracks[1].active, 0);

    const AllocationWindowStats wide = dash().allocation_window({kNow - 200'000, kNow, kNow - 900, 1});
    EXPECT_EQ(wide.allocations, 3);
    ASSERT_EQ(wide.tracks.size(), 1u);
    EXPECT_EQ(wide.tracks[0].track, "dns");
    EXPECT_EQ(wide.tracks[0].total, 2);

    EXPECT_EQ(dash().count_allocated_between(kNow - 7200, kNow - 600), 1);  // the end is exclusive
    EXPECT_EQ(dash().count_allocated_between(kNow - 7200, kNow - 599), 2);
    EXPECT_EQ(dash().count_allocated_between(kNow, kNow + 60), 0);

    const AllocationWindowStats none = dash().allocation_window({kNow + 10, kNow + 20, kNow + 10, 10});
    EXPECT_EQ(none.allocations, 0);
    EXPECT_TRUE(none.tracks.empty());
}

TEST_P(DashboardConformance, CleanupBacklogAndFailuresShowClaimsAttemptsAndTheNextRetry) {
    seed(5);
    std::vector<std::string> returned;
    for (const auto* p : {"p1", "p2", "p3"}) {
        returned.push_back(take(p, "t", kNow - 60));
        ASSERT_EQ(mark(returned.back(), p, kNow - 30).outcome, MarkOutcome::marked);
    }
    EXPECT_TRUE(dash().deletion_failures(10).empty());
    const auto claimed = lifecycle().claim_for_deletion({"w1", kNow, kNow + 300, 10});
    ASSERT_EQ(claimed.size(), 3u);
    ASSERT_TRUE(lifecycle().record_deletion_failure(
        {claimed[0].sandbox_id, "w1", kNow, kNow + 60, 3, "HTTP 500 from the provider"}));

    const CleanupBacklog b = dash().cleanup_backlog(kNow);
    EXPECT_EQ(b.pending, 3);
    EXPECT_EQ(b.failed, 0);
    EXPECT_EQ(b.being_deleted, 2);
    EXPECT_EQ(b.retrying, 1);
    EXPECT_EQ(dash().cleanup_backlog(kNow + 400).being_deleted, 0);  // the claims ran out

    const auto failures = dash().deletion_failures(10);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].sandbox.sandbox_id, claimed[0].sandbox_id);
    EXPECT_EQ(failures[0].sandbox.deletion_retry_count, 1);
    EXPECT_EQ(failures[0].sandbox.status, SandboxStatus::pending_deletion);
    EXPECT_NE(failures[0].reason.find("HTTP 500 from the provider"), std::string::npos);
    EXPECT_EQ(failures[0].next_attempt_at, kNow + 60);

    // Failed for good: still listed, now deletion_failed.
    for (int attempt = 2; attempt <= 3; ++attempt) {
        const UnixSeconds at = kNow + 60 * attempt;
        const auto again = lifecycle().claim_for_deletion({"w1", at, at + 300, 1});
        ASSERT_EQ(again.size(), 1u);
        ASSERT_TRUE(
            lifecycle().record_deletion_failure({again[0].sandbox_id, "w1", at, at + 60, 3, "HTTP 502"}));
    }
    const CleanupBacklog after = dash().cleanup_backlog(kNow + 1000);
    EXPECT_EQ(after.failed, 1);
    EXPECT_EQ(after.pending, 2);
    const auto failed = dash().deletion_failures(10);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].sandbox.status, SandboxStatus::deletion_failed);
    EXPECT_EQ(failed[0].sandbox.deletion_retry_count, 3);
    EXPECT_NE(failed[0].reason.find("HTTP 502"), std::string::npos);
    EXPECT_TRUE(dash().deletion_failures(0).empty());
}

TEST_P(DashboardConformance, PoolSamplesAreKeptByTimeReplacedPerSecondAndPruned) {
    // Six samples an hour apart, across a UTC day boundary.
    for (int i = 0; i < 6; ++i) {
        PoolSample s;
        s.at = kNow + i * 3600;
        s.counts[SandboxStatus::available] = 100 - i;
        s.counts[SandboxStatus::allocated] = i;
        s.counts[SandboxStatus::deleted] = 7;
        s.allocations = i * 2;
        dash().record_pool_sample(s);
    }
    PoolSample again;
    again.at = kNow + 3600;
    again.counts[SandboxStatus::available] = 42;
    again.allocations = 5;
    dash().record_pool_sample(again);

    const auto all = dash().pool_samples(kNow, kNow + 5 * 3600, 100);
    ASSERT_EQ(all.size(), 6u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(all[i].at, kNow + i * 3600);
    EXPECT_EQ(all[1].counts[SandboxStatus::available], 42);
    EXPECT_EQ(all[1].allocations, 5);
    EXPECT_EQ(all[4].counts[SandboxStatus::available], 96);
    EXPECT_EQ(all[4].counts[SandboxStatus::allocated], 4);
    EXPECT_EQ(all[4].counts[SandboxStatus::deleted], 7);
    EXPECT_EQ(all[4].allocations, 8);

    EXPECT_EQ(dash().pool_samples(kNow + 1, kNow + 3 * 3600, 100).size(), 3u);
    EXPECT_EQ(dash().pool_samples(kNow, kNow + 5 * 3600, 2).size(), 2u);
    EXPECT_TRUE(dash().pool_samples(kNow + 6 * 3600, kNow + 7 * 3600, 100).empty());

    EXPECT_EQ(dash().prune_pool_samples(kNow + 2 * 3600), 2);
    const auto left = dash().pool_samples(kNow - 86'400, kNow + 86'400, 100);
    ASSERT_EQ(left.size(), 4u);
    EXPECT_EQ(left.front().at, kNow + 2 * 3600);
    EXPECT_EQ(dash().prune_pool_samples(kNow + 2 * 3600), 0);
}

}  // namespace
}  // namespace broker::testing
