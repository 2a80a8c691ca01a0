// Conformance: the outbox. Each transition writes its event with the change (one commits
// without the other never), ids only increase, a reader resuming from an id sees every later
// event exactly once while writers run, the pool's low-watermark state changes once per
// crossing, and pruning removes only delivered, old events.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "store/event_store.hpp"
#include "store/outbox.hpp"
#include "store/pool_alert_store.hpp"
#include "store_harness.hpp"
#include "sync_pass.hpp"

namespace broker::testing {
namespace {

class OutboxConformance : public StoreConformance {
  protected:
    EventStore& events() { return handle().part<EventStore>(); }
    OutboxControl& outbox() { return handle().part<OutboxControl>(); }
    PoolAlertStore& alerts() { return handle().part<PoolAlertStore>(); }

    // Every event after `after`, read page by page as a resuming reader would.
    std::vector<OutboxEvent> all_events(std::int64_t after = 0, int page = 100) {
        std::vector<OutboxEvent> out;
        for (;;) {
            auto batch = events().read_events(after, page);
            if (batch.empty()) return out;
            after = batch.back().id;
            for (auto& e : batch) out.push_back(std::move(e));
        }
    }

    std::vector<OutboxEvent> of_type(std::string_view type) {
        std::vector<OutboxEvent> out;
        for (auto& e : all_events())
            if (e.type == type) out.push_back(std::move(e));
        return out;
    }
};
BROKER_FOR_EVERY_STORE(OutboxConformance);

TEST_P(OutboxConformance, NewSandboxesAreSyncedEvents) {
    seed(3);
    const auto synced = of_type(kEventSynced);
    ASSERT_EQ(synced.size(), 3u);
    std::set<std::string> ids;
    for (const auto& e : synced) {
        ids.insert(e.sandbox_id);
        const auto payload = nlohmann::json::parse(e.payload);
        EXPECT_EQ(payload["id"], e.id);
        EXPECT_EQ(payload["type"], "sandbox.synced");
        EXPECT_EQ(payload["time"], iso8601_utc(kNow - 3600));
        EXPECT_EQ(payload["data"]["id"], e.sandbox_id);
        EXPECT_EQ(payload["data"]["status"], "available");
        EXPECT_TRUE(payload["data"]["previous_status"].is_null());
        EXPECT_EQ(payload["data"]["actor"], "sync");
    }
    EXPECT_EQ(ids, (std::set<std::string>{"id-00000", "id-00001", "id-00002"}));
    // Refreshing what is there is no change.
    store().upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{"id-00000", "sbx-00000", "identity/accounts/uuid-00000", "sfdc-00000"}},
        kNow);
    EXPECT_EQ(of_type(kEventSynced).size(), 3u);
}

TEST_P(OutboxConformance, EachTransitionWritesItsTypeAndPayload) {
    seed(3);
    const std::int64_t after_seed = events().last_event_id();
    ASSERT_GT(after_seed, 0);

    auto held = allocate("alice");
    ASSERT_EQ(held.outcome, AllocateOutcome::allocated);
    const std::string id = held.sandbox->sandbox_id;
    ASSERT_EQ(store().extend_lease({id, "alice", 600, kNow + 5, lease_}).outcome, ExtendOutcome::extended);
    ASSERT_EQ(mark(id, "alice", kNow + 10).outcome, MarkOutcome::marked);

    auto expiring = allocate("bob");
    ASSERT_EQ(expiring.outcome, AllocateOutcome::allocated);
    const auto expired = lifecycle().expire_allocations(kNow + 86400, lease_, 10);
    ASSERT_EQ(expired.size(), 1u);

    // The first one fails its deletion once for good; the second is deleted.
    auto claimed = lifecycle().claim_for_deletion({"w1", kNow + 86400, kNow + 86500, 10});
    ASSERT_EQ(claimed.size(), 2u);
    ASSERT_TRUE(lifecycle().record_deletion_failure({id, "w1", kNow + 86401, kNow + 90000, 1, "boom"}));
    ASSERT_TRUE(lifecycle().record_deleted(expiring.sandbox->sandbox_id, "cleanup", kNow + 86402));

    // The third is no longer listed by the provider.
    const auto stale_sync = sync_in_one_pass(lifecycle(), {}, kNow + 86403);
    ASSERT_EQ(stale_sync.marked_stale, 1);

    const auto written = all_events(after_seed);
    std::vector<std::string> types;
    for (const auto& e : written) types.push_back(e.type);
    EXPECT_EQ(types, (std::vector<std::string>{
                         "sandbox.allocated", "sandbox.extended", "sandbox.returned", "sandbox.allocated",
                         "sandbox.expired", "sandbox.deletion_failed", "sandbox.deleted", "sandbox.stale"}));
    ASSERT_EQ(written.size(), 8u);

    const auto allocated = nlohmann::json::parse(written[0].payload);
    EXPECT_EQ(written[0].sandbox_id, id);
    EXPECT_EQ(written[0].track, "track-of-alice");
    EXPECT_EQ(written[0].at, kNow);
    EXPECT_EQ(allocated["time"], iso8601_utc(kNow));
    EXPECT_EQ(allocated["data"]["id"], id);
    EXPECT_EQ(allocated["data"]["name"], held.sandbox->name);
    EXPECT_EQ(allocated["data"]["external_id"], held.sandbox->external_id);
    EXPECT_EQ(allocated["data"]["status"], "allocated");
    EXPECT_EQ(allocated["data"]["previous_status"], "available");
    EXPECT_EQ(allocated["data"]["participant"], "alice");
    EXPECT_EQ(allocated["data"]["track"], "track-of-alice");
    EXPECT_EQ(allocated["data"]["actor"], "alice");
    EXPECT_EQ(allocated["data"]["allocated_at"], iso8601_utc(kNow));
    EXPECT_EQ(allocated["data"]["expires_at"], iso8601_utc(*held.sandbox->expires_at));

    const auto extended = nlohmann::json::parse(written[1].payload);
    EXPECT_EQ(extended["data"]["expires_at"], iso8601_utc(*held.sandbox->expires_at + 600));
    const auto returned = nlohmann::json::parse(written[2].payload);
    EXPECT_EQ(returned["data"]["status"], "pending_deletion");
    EXPECT_EQ(returned["data"]["participant"], "alice");
    EXPECT_EQ(returned["data"]["deletion_requested_at"], iso8601_utc(kNow + 10));
    const auto expiry = nlohmann::json::parse(written[4].payload);
    EXPECT_EQ(expiry["data"]["actor"], "auto_expiry");
    EXPECT_EQ(expiry["data"]["participant"], "bob");
    EXPECT_EQ(written[4].track, "track-of-bob");
    const auto failed = nlohmann::json::parse(written[5].payload);
    EXPECT_EQ(failed["data"]["status"], "deletion_failed");
    EXPECT_NE(failed["data"]["reason"].get<std::string>().find("boom"), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(written[6].payload)["data"]["status"], "deleted");
    EXPECT_EQ(nlohmann::json::parse(written[7].payload)["data"]["status"], "stale");
}

TEST_P(OutboxConformance, IdsIncreaseAndLastEventIdIsTheNewest) {
    EXPECT_EQ(events().last_event_id(), 0);
    EXPECT_TRUE(events().read_events(0, 10).empty());
    seed(5);
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(allocate("p" + std::to_string(i)).outcome, AllocateOutcome::allocated);
    const auto all = all_events(0, 3);
    ASSERT_EQ(all.size(), 10u);
    for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].id, all[i - 1].id);
    EXPECT_EQ(events().last_event_id(), all.back().id);
    // Resuming from any id gives exactly what follows it.
    const auto tail = events().read_events(all[3].id, 100);
    ASSERT_EQ(tail.size(), 6u);
    EXPECT_EQ(tail.front().id, all[4].id);
}

TEST_P(OutboxConformance, AppendedEventsKeepTheirData) {
    events().append_event(kEventJobFailed, R"({"job":"sync","error":"provider down"})", kNow);
    const auto all = all_events();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].type, "job.failed");
    EXPECT_TRUE(all[0].sandbox_id.empty());
    const auto payload = nlohmann::json::parse(all[0].payload);
    EXPECT_EQ(payload["data"]["job"], "sync");
    EXPECT_EQ(payload["data"]["error"], "provider down");
    EXPECT_EQ(payload["time"], iso8601_utc(kNow));
}

TEST_P(OutboxConformance, AFailureAfterTheEventLeavesChangeAndEventInAgreement) {
    seed(2);
    const std::int64_t before = events().last_event_id();
    outbox().set_fail_after_event(true);
    std::optional<AllocateResult> result;
    try {
        result = allocate("carol");
    } catch (const std::exception&) {
        // The change failed as a whole, or its relay step did (see below).
    }
    outbox().set_fail_after_event(false);

    const auto counts = store().count_by_status();
    const auto written = all_events(before);
    if (counts[SandboxStatus::allocated] == 0) {
        // A transactional store: the change and its event were rolled back together.
        EXPECT_TRUE(written.empty());
        EXPECT_FALSE(result && result->outcome == AllocateOutcome::allocated);
    } else {
        // A store whose event travels with the change (DynamoDB): the change stands, so its
        // event must come out, exactly once, however the failure interrupted its relay.
        ASSERT_EQ(written.size(), 1u);
        EXPECT_EQ(written[0].type, "sandbox.allocated");
        EXPECT_EQ(nlohmann::json::parse(written[0].payload)["data"]["participant"], "carol");
        EXPECT_EQ(all_events(before).size(), 1u);
    }
    // Without the failure the next change writes its event.
    ASSERT_EQ(allocate("dave").outcome, AllocateOutcome::allocated);
    EXPECT_EQ(of_type(kEventAllocated).size(),
              static_cast<std::size_t>(counts[SandboxStatus::allocated]) + 1);
}

TEST_P(OutboxConformance, AResumingReaderSeesEveryEventOnceUnderConcurrentWriters) {
    constexpr int kWriters = 4;
    constexpr int kPerWriter = 8;
    seed(kWriters * kPerWriter);
    const std::int64_t start = events().last_event_id();

    std::atomic<bool> done{false};
    std::vector<OutboxEvent> seen;
    std::thread reader([&] {
        std::int64_t after = start;
        bool last_pass = false;
        for (;;) {
            const bool finishing = done.load();
            auto batch = events().read_events(after, 7);
            for (auto& e : batch) {
                after = e.id;
                seen.push_back(std::move(e));
            }
            if (batch.empty()) {
                if (last_pass) return;
                if (finishing) last_pass = true;
                std::this_thread::yield();
            }
        }
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
        writers.emplace_back([&, w] {
            for (int i = 0; i < kPerWriter; ++i) {
                const std::string who = "w" + std::to_string(w) + "-" + std::to_string(i);
                auto r = allocate(who);
                if (r.outcome == AllocateOutcome::allocated) mark(r.sandbox->sandbox_id, who, kNow + 1);
            }
        });
    }
    for (auto& t : writers) t.join();
    done = true;
    reader.join();

    const auto everything = all_events(start);
    ASSERT_EQ(everything.size(), static_cast<std::size_t>(2 * kWriters * kPerWriter));
    ASSERT_EQ(seen.size(), everything.size());
    std::set<std::int64_t> ids;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_TRUE(ids.insert(seen[i].id).second) << "event " << seen[i].id << " seen twice";
        if (i > 0) {
            EXPECT_GT(seen[i].id, seen[i - 1].id);
        }
        EXPECT_EQ(seen[i].id, everything[i].id);
    }
    // Per sandbox, its allocation comes before its return.
    std::map<std::string, std::vector<std::string>> per_sandbox;
    for (const auto& e : seen) per_sandbox[e.sandbox_id].push_back(e.type);
    for (const auto& [id, types] : per_sandbox)
        EXPECT_EQ(types, (std::vector<std::string>{"sandbox.allocated", "sandbox.returned"})) << id;
}

TEST_P(OutboxConformance, PoolLowChangesOncePerCrossingWithItsEvent) {
    EXPECT_FALSE(alerts().pool_low());
    EXPECT_FALSE(alerts().set_pool_low(false, R"({"available":9})", kNow));  // nothing to recover from

    std::atomic<int> won{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < 4; ++i) {
        workers.emplace_back([&] {
            if (alerts().set_pool_low(true, R"({"available":1,"watermark":5})", kNow)) ++won;
        });
    }
    for (auto& t : workers) t.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_TRUE(alerts().pool_low());
    EXPECT_FALSE(alerts().set_pool_low(true, R"({"available":0})", kNow + 1));
    EXPECT_TRUE(alerts().set_pool_low(false, R"({"available":20})", kNow + 2));
    EXPECT_FALSE(alerts().pool_low());

    const auto all = all_events();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].type, "pool.low");
    EXPECT_EQ(nlohmann::json::parse(all[0].payload)["data"]["watermark"], 5);
    EXPECT_EQ(all[1].type, "pool.recovered");
    EXPECT_EQ(all[1].at, kNow + 2);
}

TEST_P(OutboxConformance, PruneRemovesOnlyDeliveredOldEvents) {
    for (int i = 0; i < 6; ++i) events().append_event(kEventJobFailed, "{}", kNow + i);
    const auto all = all_events();
    ASSERT_EQ(all.size(), 6u);
    // Delivered up to the fourth; older than the third's time: the first two go.
    EXPECT_EQ(events().prune_events(all[3].id, kNow + 2), 2);
    auto left = all_events();
    ASSERT_EQ(left.size(), 4u);
    EXPECT_EQ(left.front().id, all[2].id);
    // Old enough but not delivered: stays.
    EXPECT_EQ(events().prune_events(all[3].id, kNow + 100), 2);
    EXPECT_EQ(all_events().size(), 2u);
    EXPECT_EQ(events().prune_events(all[5].id, kNow + 100), 2);
    EXPECT_TRUE(all_events().empty());
    // Ids never go back, even with every event pruned.
    events().append_event(kEventJobFailed, "{}", kNow + 200);
    const auto after = all_events();
    ASSERT_EQ(after.size(), 1u);
    EXPECT_GT(after[0].id, all.back().id);
}

TEST_P(OutboxConformance, SwitchedOffWritesNoEventsButKeepsTheHistory) {
    seed(2);
    const std::int64_t before = events().last_event_id();
    outbox().set_events_enabled(false);
    auto r = allocate("erin");
    events().append_event(kEventJobFailed, "{}", kNow);
    outbox().set_events_enabled(true);
    ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
    EXPECT_TRUE(all_events(before).empty());
    EXPECT_EQ(lifecycle().history(r.sandbox->sandbox_id).size(), 2u);
}

}  // namespace
}  // namespace broker::testing
