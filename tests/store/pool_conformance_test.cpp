// Conformance: provider upserts, counts, list pagination, and durability across reopening.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "store_harness.hpp"

namespace broker::testing {
namespace {

class PoolConformance : public StoreConformance {};
BROKER_FOR_EVERY_STORE(PoolConformance);

std::vector<ProviderSandbox> provider_list(int count, const std::string& name_suffix = "") {
    std::vector<ProviderSandbox> list;
    for (int i = 0; i < count; ++i) {
        const std::string n = std::to_string(1000 + i);
        list.push_back({n, "sandbox-" + n + name_suffix, "identity/accounts/" + n, "sfdc-" + n});
    }
    return list;
}

std::vector<Sandbox> list_everything(Store& store, std::optional<SandboxStatus> status, int limit) {
    std::vector<Sandbox> all;
    ListQuery query{status, "", limit};
    for (int pages = 0; pages < 10'000; ++pages) {
        auto page = store.list(query);
        EXPECT_LE(page.items.size(), static_cast<std::size_t>(std::max(limit, 1)));
        all.insert(all.end(), page.items.begin(), page.items.end());
        if (!page.next_after) break;
        EXPECT_EQ(*page.next_after, page.items.back().sandbox_id);
        query.after_sandbox_id = *page.next_after;
    }
    return all;
}

TEST_P(PoolConformance, UpsertInsertsNewSandboxesAsAvailable) {
    const auto list = provider_list(3);
    const auto summary = store().upsert_provider_sandboxes(list, kNow);
    EXPECT_EQ(summary.inserted, 3);
    EXPECT_EQ(summary.refreshed + summary.revived + summary.skipped, 0);

    auto s = store().get("1001");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->status, SandboxStatus::available);
    EXPECT_EQ(s->name, "sandbox-1001");
    EXPECT_EQ(s->external_id, "identity/accounts/1001");
    EXPECT_EQ(s->sfdc_account_id, "sfdc-1001");
    EXPECT_EQ(s->allocated_to_track, "");
    EXPECT_EQ(s->track_name, "");
    EXPECT_EQ(s->idempotency_key, "");
    EXPECT_FALSE(s->allocated_at);
    EXPECT_FALSE(s->expires_at);
    EXPECT_EQ(s->created_at, kNow);
    EXPECT_EQ(s->version, 1);
}

TEST_P(PoolConformance, UpsertRefreshesProviderFieldsOfAvailableSandboxes) {
    store().upsert_provider_sandboxes(provider_list(3), kNow);
    auto list = provider_list(3, "-renamed");
    list[0].sfdc_account_id = "";
    const auto summary = store().upsert_provider_sandboxes(list, kNow + 60);
    EXPECT_EQ(summary.inserted, 0);
    EXPECT_EQ(summary.refreshed, 3);

    auto s = store().get("1000");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->name, "sandbox-1000-renamed");
    EXPECT_EQ(s->sfdc_account_id, "");
    EXPECT_EQ(s->status, SandboxStatus::available);
    EXPECT_EQ(s->created_at, kNow);
}

TEST_P(PoolConformance, UpsertNeverResurrectsHeldOrReturnedSandboxes) {
    store().upsert_provider_sandboxes(provider_list(3), kNow - 100);
    auto held = allocate("holder");
    auto returned = allocate("returner");
    ASSERT_EQ(mark(returned.sandbox->sandbox_id, "returner").outcome, MarkOutcome::marked);

    const auto summary = store().upsert_provider_sandboxes(provider_list(4, "-v2"), kNow + 60);
    EXPECT_EQ(summary.inserted, 1);
    EXPECT_EQ(summary.refreshed, 1);
    EXPECT_EQ(summary.skipped, 2);

    auto h = store().get(held.sandbox->sandbox_id);
    EXPECT_EQ(h->status, SandboxStatus::allocated);
    EXPECT_EQ(h->allocated_to_track, "holder");
    EXPECT_EQ(h->version, held.sandbox->version);
    EXPECT_EQ(h->name, held.sandbox->name);  // left alone: the holder sees what it was given
    auto r = store().get(returned.sandbox->sandbox_id);
    EXPECT_EQ(r->status, SandboxStatus::pending_deletion);
    EXPECT_EQ(r->allocated_to_track, "returner");

    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 2);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::pending_deletion], 1);
    EXPECT_EQ(counts.total(), 4);
}

TEST_P(PoolConformance, CountsFollowEveryTransition) {
    EXPECT_EQ(store().count_by_status().total(), 0);
    seed(10);
    auto a = allocate("a");
    allocate("b");
    mark(a.sandbox->sandbox_id, "a");
    const auto counts = store().count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 8);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::pending_deletion], 1);
    EXPECT_EQ(counts[SandboxStatus::stale], 0);
    EXPECT_EQ(counts[SandboxStatus::deleted], 0);
    EXPECT_EQ(counts.total(), 10);
}

TEST_P(PoolConformance, ListVisitsEveryRowExactlyOnceInOrder) {
    seed(57);
    for (int limit : {1, 7, 10, 57, 100}) {
        auto all = list_everything(store(), std::nullopt, limit);
        ASSERT_EQ(all.size(), 57u) << "limit " << limit;
        std::set<std::string> ids;
        for (std::size_t i = 0; i < all.size(); ++i) {
            ids.insert(all[i].sandbox_id);
            if (i > 0) {
                EXPECT_LT(all[i - 1].sandbox_id, all[i].sandbox_id);
            }
        }
        EXPECT_EQ(ids.size(), 57u);
    }
}

TEST_P(PoolConformance, ListSaysMoreOnlyWhenMoreFollows) {
    seed(10);
    auto first = store().list({std::nullopt, "", 5});
    ASSERT_EQ(first.items.size(), 5u);
    ASSERT_TRUE(first.next_after);
    auto second = store().list({std::nullopt, *first.next_after, 5});
    EXPECT_EQ(second.items.size(), 5u);
    EXPECT_FALSE(second.next_after);

    auto past_the_end = store().list({std::nullopt, second.items.back().sandbox_id, 5});
    EXPECT_TRUE(past_the_end.items.empty());
    EXPECT_FALSE(past_the_end.next_after);
}

TEST_P(PoolConformance, ListFiltersByStatus) {
    seed(20);
    std::set<std::string> held;
    for (int i = 0; i < 5; ++i) held.insert(allocate("p" + std::to_string(i)).sandbox->sandbox_id);

    auto allocated = list_everything(store(), SandboxStatus::allocated, 2);
    std::set<std::string> listed;
    for (const auto& s : allocated) {
        EXPECT_EQ(s.status, SandboxStatus::allocated);
        listed.insert(s.sandbox_id);
    }
    EXPECT_EQ(allocated.size(), 5u);
    EXPECT_EQ(listed, held);
    EXPECT_EQ(list_everything(store(), SandboxStatus::available, 4).size(), 15u);
    EXPECT_TRUE(list_everything(store(), SandboxStatus::stale, 4).empty());
}

TEST_P(PoolConformance, ListClampsTheLimit) {
    seed(12);
    EXPECT_EQ(store().list({std::nullopt, "", 0}).items.size(), 1u);
    EXPECT_EQ(store().list({std::nullopt, "", -5}).items.size(), 1u);
    auto big = store().list({std::nullopt, "", 1'000'000});
    EXPECT_EQ(big.items.size(), 12u);
    EXPECT_FALSE(big.next_after);
}

TEST_P(PoolConformance, DataSurvivesReopening) {
    seed(5);
    auto held = allocate("p1");
    auto returned = allocate("p2");
    auto marked = mark(returned.sandbox->sandbox_id, "p2", kNow + 5);
    ASSERT_EQ(marked.outcome, MarkOutcome::marked);

    harness().reopen();
    store().migrate();  // what every start does: must leave the data alone

    auto h = store().get(held.sandbox->sandbox_id);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, SandboxStatus::allocated);
    EXPECT_EQ(h->allocated_to_track, "p1");
    EXPECT_EQ(h->expires_at, held.sandbox->expires_at);
    auto again = allocate("p1");
    EXPECT_EQ(again.outcome, AllocateOutcome::existing);
    EXPECT_EQ(again.sandbox->sandbox_id, held.sandbox->sandbox_id);
    EXPECT_EQ(mark(returned.sandbox->sandbox_id, "p2", kNow + 99).sandbox->deletion_requested_at, kNow + 5);
    EXPECT_EQ(store().count_by_status().total(), 5);
}

TEST_P(PoolConformance, PingAnswersOnAMigratedStore) {
    EXPECT_NO_THROW(store().ping());
}

}  // namespace
}  // namespace broker::testing
