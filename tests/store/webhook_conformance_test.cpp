// Conformance: webhook subscriptions and deliveries (store/webhook_store.hpp) — stored and read
// back, a cursor that moves only from the value read, claims that exclude other workers until
// they run out (two workers claiming at once never share one), a sandbox's deliveries one at a
// time in order, attempts recorded only by their claim's holder (one by one or in a batch), a
// disable announced with the change, pages, redelivery and pruning; and the outbox kept until
// the subscriptions took it.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "store/webhook_store.hpp"
#include "store_harness.hpp"

namespace broker::testing {
namespace {

class WebhookConformance : public StoreConformance {
  protected:
    WebhookStore& webhooks() { return handle().part<WebhookStore>(); }
    EventStore& events() { return handle().part<EventStore>(); }
    void reopened() {}

    WebhookSubscription subscription(const std::string& id, UnixSeconds created_at = kNow) {
        WebhookSubscription s;
        s.id = id;
        s.url = "https://hooks.example.com/" + id;
        s.event_types = {"sandbox.allocated", "sandbox.returned"};
        s.description = "chat channel";
        s.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        s.created_at = created_at;
        s.cursor = 7;
        return s;
    }

    static OutboxEvent event(std::int64_t id, const std::string& sandbox,
                             const std::string& type = "sandbox.allocated") {
        OutboxEvent e;
        e.id = id;
        e.type = type;
        e.sandbox_id = sandbox;
        e.at = kNow;
        e.payload = R"({"id":"evt_)" + std::to_string(id) + R"(","type":")" + type + R"("})";
        return e;
    }

    // Enqueues events (cursor from 7) and returns the deliveries' ids in event order.
    std::vector<std::int64_t> enqueue(const std::string& sub, const std::vector<OutboxEvent>& events) {
        const auto before = webhooks().get_webhook(sub)->cursor;
        EXPECT_TRUE(webhooks().enqueue_deliveries(sub, before, events.back().id, events, kNow));
        std::vector<std::int64_t> ids;
        for (const auto& d : webhooks().list_deliveries(sub, std::nullopt, 500).items)
            ids.insert(ids.begin(), d.id);
        return ids;
    }

    std::vector<WebhookDelivery> claim(const std::string& sub, const std::string& worker, int limit,
                                       UnixSeconds now = kNow) {
        return webhooks().claim_deliveries({sub, worker, now, now + 30, limit});
    }

    DeliveryAttempt attempt(std::int64_t id, const std::string& worker, DeliveryStatus outcome,
                            UnixSeconds now = kNow, const std::string& sub = "wh_1") {
        DeliveryAttempt a;
        a.delivery_id = id;
        a.subscription_id = sub;
        a.worker_id = worker;
        a.now = now;
        a.outcome = outcome;
        a.next_attempt_at = now + 60;
        a.http_status = outcome == DeliveryStatus::delivered ? 204 : 500;
        a.error = outcome == DeliveryStatus::delivered ? "" : "answered 500";
        a.latency_ms = 42;
        return a;
    }
};
BROKER_FOR_EVERY_STORE(WebhookConformance);

TEST_P(WebhookConformance, SubscriptionsAreStoredListedAndDeleted) {
    webhooks().create_webhook(subscription("wh_b", kNow + 1));
    auto any = subscription("wh_a");
    any.event_types = {"*"};
    any.description = "";
    webhooks().create_webhook(any);
    const auto all = webhooks().list_webhooks();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, "wh_a") << "ordered by creation";
    const auto b = webhooks().get_webhook("wh_b");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->url, "https://hooks.example.com/wh_b");
    EXPECT_EQ(b->event_types, (std::vector<std::string>{"sandbox.allocated", "sandbox.returned"}));
    EXPECT_EQ(b->description, "chat channel");
    EXPECT_EQ(b->secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    EXPECT_TRUE(b->enabled);
    EXPECT_EQ(b->created_at, kNow + 1);
    EXPECT_EQ(b->cursor, 7);
    EXPECT_FALSE(b->failing_since);
    EXPECT_EQ(all[0].event_types, std::vector<std::string>{"*"});
    EXPECT_TRUE(all[0].wants("anything"));
    EXPECT_FALSE(b->wants("pool.low"));

    enqueue("wh_b", {event(8, "sb-1")});
    EXPECT_TRUE(webhooks().delete_webhook("wh_b"));
    EXPECT_FALSE(webhooks().delete_webhook("wh_b"));
    EXPECT_FALSE(webhooks().get_webhook("wh_b"));
    EXPECT_TRUE(webhooks().list_deliveries("wh_b", std::nullopt, 10).items.empty())
        << "its deliveries went with it";
    EXPECT_EQ(webhooks().count_pending("wh_b"), 0);

    harness().reopen();
    reopened();
    ASSERT_TRUE(webhooks().get_webhook("wh_a")) << "kept across a restart";
    EXPECT_EQ(webhooks().get_webhook("wh_a")->event_types, std::vector<std::string>{"*"});
}

TEST_P(WebhookConformance, DisablingIsAnnouncedOnceAndEnablingClearsTheFailureRecord) {
    webhooks().create_webhook(subscription("wh_1"));
    const std::int64_t before = events().last_event_id();
    EXPECT_TRUE(webhooks().disable_webhook("wh_1", "5 deliveries failed in a row", kNow + 5));
    EXPECT_FALSE(webhooks().disable_webhook("wh_1", "again", kNow + 6)) << "only one caller disables it";
    EXPECT_FALSE(webhooks().disable_webhook("wh_none", "x", kNow));
    // The store wrote the announcement with the change, once.
    const auto written = events().read_events(before, 100);
    ASSERT_EQ(written.size(), 1u);
    EXPECT_EQ(written[0].type, "webhook.disabled");
    EXPECT_EQ(written[0].at, kNow + 5);
    EXPECT_NE(written[0].payload.find(R"("webhook_id":"wh_1")"), std::string::npos) << written[0].payload;
    EXPECT_NE(written[0].payload.find("5 deliveries failed in a row"), std::string::npos);
    EXPECT_EQ(written[0].payload.find("whsec_"), std::string::npos) << "never the secret";
    auto s = webhooks().get_webhook("wh_1");
    EXPECT_FALSE(s->enabled);
    EXPECT_EQ(s->disabled_reason, "5 deliveries failed in a row");
    EXPECT_EQ(s->disabled_at, kNow + 5);
    EXPECT_TRUE(webhooks().enable_webhook("wh_1"));
    s = webhooks().get_webhook("wh_1");
    EXPECT_TRUE(s->enabled);
    EXPECT_EQ(s->disabled_reason, "");
    EXPECT_FALSE(s->disabled_at);
    EXPECT_FALSE(webhooks().enable_webhook("wh_none"));
}

TEST_P(WebhookConformance, TheCursorMovesOnlyFromTheValueRead) {
    webhooks().create_webhook(subscription("wh_1"));
    const std::vector<OutboxEvent> events = {event(8, "sb-1"), event(10, "sb-2")};
    EXPECT_TRUE(webhooks().enqueue_deliveries("wh_1", 7, 12, events, kNow));
    EXPECT_FALSE(webhooks().enqueue_deliveries("wh_1", 7, 12, events, kNow)) << "another worker did it";
    EXPECT_FALSE(webhooks().enqueue_deliveries("wh_none", 0, 12, events, kNow));
    EXPECT_EQ(webhooks().get_webhook("wh_1")->cursor, 12);
    const auto page = webhooks().list_deliveries("wh_1", std::nullopt, 10).items;
    ASSERT_EQ(page.size(), 2u) << "nothing written by the refused call";
    EXPECT_EQ(page[0].event_id, 10) << "newest first";
    EXPECT_EQ(page[1].event_id, 8);
    EXPECT_GT(page[0].id, page[1].id);
    EXPECT_EQ(page[1].status, DeliveryStatus::pending);
    EXPECT_EQ(page[1].sandbox_id, "sb-1");
    EXPECT_EQ(page[1].event_type, "sandbox.allocated");
    EXPECT_EQ(page[1].payload, events[0].payload);
    EXPECT_EQ(page[1].attempts, 0);
    EXPECT_EQ(page[1].next_attempt_at, kNow);
    EXPECT_EQ(page[1].created_at, kNow);
    EXPECT_EQ(webhooks().count_pending("wh_1"), 2);
    // Moving the cursor past events of no interest creates nothing.
    EXPECT_TRUE(webhooks().enqueue_deliveries("wh_1", 12, 20, {}, kNow));
    EXPECT_EQ(webhooks().get_webhook("wh_1")->cursor, 20);
    EXPECT_EQ(webhooks().count_pending("wh_1"), 2);
}

TEST_P(WebhookConformance, AClaimExcludesOtherWorkersUntilItRunsOut) {
    webhooks().create_webhook(subscription("wh_1"));
    enqueue("wh_1", {event(8, "sb-1"), event(9, "sb-2"), event(10, "sb-3")});
    const auto first = claim("wh_1", "w1", 2);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].event_id, 8) << "oldest first";
    EXPECT_EQ(first[1].event_id, 9);
    const auto second = claim("wh_1", "w2", 5);
    ASSERT_EQ(second.size(), 1u) << "w1's claims are live";
    EXPECT_EQ(second[0].event_id, 10);
    EXPECT_TRUE(claim("wh_1", "w3", 5, kNow + 29).empty());
    const auto taken_over = claim("wh_1", "w3", 5, kNow + 30);
    EXPECT_EQ(taken_over.size(), 3u) << "every claim ran out";
    // The first holder's answer comes too late: the claim is w3's now.
    EXPECT_FALSE(webhooks().record_attempt(attempt(first[0].id, "w1", DeliveryStatus::delivered, kNow + 31)));
    EXPECT_TRUE(webhooks().record_attempt(attempt(first[0].id, "w3", DeliveryStatus::delivered, kNow + 31)));
    EXPECT_FALSE(webhooks().record_attempt(attempt(first[0].id, "w3", DeliveryStatus::delivered, kNow + 32)))
        << "a delivered delivery is not pending";
}

TEST_P(WebhookConformance, ASandboxsNextDeliveryIsClaimableOnlyOnceTheOneBeforeIsDone) {
    webhooks().create_webhook(subscription("wh_1"));
    const auto ids = enqueue("wh_1", {event(8, "sb-1"), event(9, "sb-1", "sandbox.returned"),
                                      event(10, "sb-2"), event(11, ""), event(12, "")});
    auto claimed = claim("wh_1", "w1", 10);
    std::set<std::int64_t> events;
    for (const auto& d : claimed) events.insert(d.event_id);
    EXPECT_EQ(events, (std::set<std::int64_t>{8, 10, 11, 12}))
        << "sb-1's second waits; events of no sandbox do not";
    for (std::size_t i = 2; i < ids.size(); ++i)
        EXPECT_TRUE(webhooks().record_attempt(attempt(ids[i], "w1", DeliveryStatus::delivered)));

    // A failed attempt keeps it pending (and sb-1's next one waiting) until its retry.
    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[0], "w1", DeliveryStatus::pending)));
    EXPECT_TRUE(claim("wh_1", "w1", 10, kNow + 1).empty());
    claimed = claim("wh_1", "w1", 10, kNow + 60);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].event_id, 8) << "the retry, not the event after it";
    EXPECT_EQ(claimed[0].attempts, 1);
    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[0], "w1", DeliveryStatus::failed, kNow + 60)));
    claimed = claim("wh_1", "w1", 10, kNow + 60);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].event_id, 9) << "a failed delivery lets the next one go";
}

TEST_P(WebhookConformance, AttemptsAreRecordedWithTheSubscriptionsFailureRecord) {
    webhooks().create_webhook(subscription("wh_1"));
    const auto ids = enqueue("wh_1", {event(8, "sb-1"), event(9, "sb-2"), event(10, "sb-3")});
    claim("wh_1", "w1", 3);
    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[0], "w1", DeliveryStatus::pending, kNow + 1)));
    auto d = webhooks().get_delivery("wh_1", ids[0]);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, DeliveryStatus::pending);
    EXPECT_EQ(d->attempts, 1);
    EXPECT_EQ(d->next_attempt_at, kNow + 61);
    EXPECT_EQ(d->last_attempt_at, kNow + 1);
    EXPECT_EQ(d->last_http_status, 500);
    EXPECT_EQ(d->last_error, "answered 500");
    EXPECT_EQ(d->last_latency_ms, 42);
    auto s = webhooks().get_webhook("wh_1");
    EXPECT_EQ(s->failing_since, kNow + 1);
    EXPECT_EQ(s->consecutive_failed, 0);

    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[1], "w1", DeliveryStatus::failed, kNow + 2)));
    s = webhooks().get_webhook("wh_1");
    EXPECT_EQ(s->failing_since, kNow + 1) << "the first failure is kept";
    EXPECT_EQ(s->consecutive_failed, 1);

    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[2], "w1", DeliveryStatus::delivered, kNow + 3)));
    s = webhooks().get_webhook("wh_1");
    EXPECT_FALSE(s->failing_since);
    EXPECT_EQ(s->consecutive_failed, 0);
    d = webhooks().get_delivery("wh_1", ids[2]);
    EXPECT_EQ(d->status, DeliveryStatus::delivered);
    EXPECT_EQ(d->last_http_status, 204);
    EXPECT_EQ(d->last_error, "");
    EXPECT_EQ(webhooks().count_pending("wh_1"), 1);
    EXPECT_FALSE(webhooks().get_delivery("wh_other", ids[2]))
        << "a delivery is read through its subscription";
}

TEST_P(WebhookConformance, AttemptsRecordedInABatchAreEachRecordedAsAloneInOrder) {
    webhooks().create_webhook(subscription("wh_1"));
    webhooks().create_webhook(subscription("wh_2"));
    const auto ids =
        enqueue("wh_1", {event(8, "sb-1"), event(9, "sb-2"), event(10, "sb-3"), event(11, "sb-1")});
    const auto other = enqueue("wh_2", {event(8, "sb-1")});
    ASSERT_EQ(claim("wh_1", "w1", 10).size(), 3u) << "sb-1's second waits";
    ASSERT_EQ(claim("wh_2", "w1", 10).size(), 1u);
    const std::vector<DeliveryAttempt> batch = {
        attempt(ids[0], "w1", DeliveryStatus::delivered, kNow + 1),
        attempt(ids[1], "w2", DeliveryStatus::delivered, kNow + 1),  // not w2's claim: refused
        attempt(ids[2], "w1", DeliveryStatus::failed, kNow + 2),
        attempt(ids[2], "w1", DeliveryStatus::delivered, kNow + 3),  // no longer pending: refused
        attempt(other[0], "w1", DeliveryStatus::pending, kNow + 4, "wh_2"),
    };
    EXPECT_EQ(webhooks().record_attempts(batch), (std::vector<bool>{true, false, true, false, true}));
    EXPECT_TRUE(webhooks().record_attempts({}).empty());

    EXPECT_EQ(webhooks().get_delivery("wh_1", ids[0])->status, DeliveryStatus::delivered);
    const auto untouched = webhooks().get_delivery("wh_1", ids[1]);
    EXPECT_EQ(untouched->status, DeliveryStatus::pending);
    EXPECT_EQ(untouched->attempts, 0);
    const auto failed = webhooks().get_delivery("wh_1", ids[2]);
    EXPECT_EQ(failed->status, DeliveryStatus::failed);
    EXPECT_EQ(failed->attempts, 1);
    EXPECT_EQ(failed->last_attempt_at, kNow + 2);
    const auto retry = webhooks().get_delivery("wh_2", other[0]);
    EXPECT_EQ(retry->status, DeliveryStatus::pending);
    EXPECT_EQ(retry->next_attempt_at, kNow + 64);

    // Each subscription's failure record as if the attempts had been recorded one by one.
    auto s = webhooks().get_webhook("wh_1");
    EXPECT_EQ(s->consecutive_failed, 1);
    EXPECT_EQ(s->failing_since, kNow + 2);
    s = webhooks().get_webhook("wh_2");
    EXPECT_EQ(s->consecutive_failed, 0);
    EXPECT_EQ(s->failing_since, kNow + 4);

    // sb-1's first is delivered: its next is claimable; w1's claim on sb-2's still holds.
    const auto next = claim("wh_1", "w3", 10);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].event_id, 11);
}

TEST_P(WebhookConformance, DeliveriesPageNewestFirstAndEveryOneAppearsOnce) {
    webhooks().create_webhook(subscription("wh_1"));
    webhooks().create_webhook(subscription("wh_2"));
    std::vector<OutboxEvent> events;
    for (int i = 0; i < 7; ++i) events.push_back(event(8 + i, "sb-" + std::to_string(i)));
    enqueue("wh_1", events);
    enqueue("wh_2", {event(8, "sb-x")});
    std::vector<std::int64_t> seen;
    std::optional<std::int64_t> before;
    for (int page = 0; page < 10; ++page) {
        const auto p = webhooks().list_deliveries("wh_1", before, 3);
        for (const auto& d : p.items) seen.push_back(d.event_id);
        if (!p.next_before) break;
        before = p.next_before;
    }
    EXPECT_EQ(seen, (std::vector<std::int64_t>{14, 13, 12, 11, 10, 9, 8}));
    const auto exact = webhooks().list_deliveries("wh_1", std::nullopt, 7);
    EXPECT_EQ(exact.items.size(), 7u);
    EXPECT_FALSE(exact.next_before) << "no empty page after the last";
}

TEST_P(WebhookConformance, RedeliveryMakesAFinishedDeliveryPendingAgainAndPruningRemovesOldFinishedOnes) {
    webhooks().create_webhook(subscription("wh_1"));
    const auto ids = enqueue("wh_1", {event(8, "sb-1"), event(9, "sb-2"), event(10, "sb-3")});
    claim("wh_1", "w1", 3);
    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[0], "w1", DeliveryStatus::delivered, kNow)));
    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[1], "w1", DeliveryStatus::failed, kNow + 100)));
    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[2], "w1", DeliveryStatus::delivered, kNow + 150)));

    const auto again = webhooks().redeliver("wh_1", ids[0], kNow + 200);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, DeliveryStatus::pending);
    EXPECT_EQ(again->next_attempt_at, kNow + 200);
    EXPECT_EQ(again->attempts, 1) << "its history is kept";
    EXPECT_FALSE(webhooks().redeliver("wh_1", 999999, kNow));
    EXPECT_FALSE(webhooks().redeliver("wh_other", ids[0], kNow));
    const auto claimed = claim("wh_1", "w2", 5, kNow + 200);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].id, ids[0]);

    // Only finished deliveries last attempted before the cut go.
    EXPECT_EQ(webhooks().prune_deliveries(kNow + 101), 1);
    EXPECT_FALSE(webhooks().get_delivery("wh_1", ids[1]));
    EXPECT_TRUE(webhooks().get_delivery("wh_1", ids[0]));
    EXPECT_TRUE(webhooks().get_delivery("wh_1", ids[2]));
}

TEST_P(WebhookConformance, TwoWorkersClaimingAtOnceNeverGetTheSameDelivery) {
    webhooks().create_webhook(subscription("wh_1"));
    std::vector<OutboxEvent> events;
    for (int i = 0; i < 16; ++i) events.push_back(event(8 + i, "sb-" + std::to_string(i)));
    enqueue("wh_1", events);
    std::mutex mutex;
    std::vector<std::int64_t> claimed;
    const auto work = [&](const std::string& worker) {
        for (int round = 0; round < 20; ++round) {
            const auto got = claim("wh_1", worker, 3);
            for (const auto& d : got) {
                EXPECT_TRUE(webhooks().record_attempt(attempt(d.id, worker, DeliveryStatus::delivered)))
                    << worker << " holds the claim of " << d.id;
                std::lock_guard lock(mutex);
                claimed.push_back(d.id);
            }
            if (got.empty() && webhooks().count_pending("wh_1") == 0) return;
        }
    };
    std::thread a(work, "w1");
    std::thread b(work, "w2");
    a.join();
    b.join();
    std::sort(claimed.begin(), claimed.end());
    EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end())
        << "no delivery claimed twice";
    EXPECT_EQ(claimed.size(), events.size()) << "and every one claimed";
    EXPECT_EQ(webhooks().count_pending("wh_1"), 0);
}

TEST_P(WebhookConformance, AClaimThatRanOutIsTakenOverAndItsHoldersLateAnswerIsRefused) {
    webhooks().create_webhook(subscription("wh_1"));
    const auto ids = enqueue("wh_1", {event(8, "sb-1"), event(9, "sb-1", "sandbox.returned")});
    const auto first = claim("wh_1", "crashed", 5);
    ASSERT_EQ(first.size(), 1u) << "sb-1's second waits for its first";
    EXPECT_TRUE(claim("wh_1", "w2", 5, kNow + 10).empty()) << "the claim is live";
    const auto taken = claim("wh_1", "w2", 5, kNow + 30);
    ASSERT_EQ(taken.size(), 1u);
    EXPECT_EQ(taken[0].id, ids[0]) << "the same delivery, sent again (at least once)";
    EXPECT_FALSE(webhooks().record_attempt(attempt(ids[0], "crashed", DeliveryStatus::delivered, kNow + 31)));
    EXPECT_TRUE(webhooks().record_attempt(attempt(ids[0], "w2", DeliveryStatus::delivered, kNow + 31)));
    const auto next = claim("wh_1", "w2", 5, kNow + 31);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].id, ids[1]) << "then the sandbox's next one";
    EXPECT_EQ(webhooks().get_delivery("wh_1", ids[0])->attempts, 1) << "the lost attempt is not counted";
}

TEST_P(WebhookConformance, AnEnqueueRepeatedAfterACrashWritesNoDeliveryTwice) {
    webhooks().create_webhook(subscription("wh_1"));
    const std::vector<OutboxEvent> events = {event(8, "sb-1"), event(9, "sb-2")};
    // A worker that wrote the deliveries and died before moving the cursor is repeated by the
    // next; two workers racing from the same cursor end the same way.
    EXPECT_TRUE(webhooks().enqueue_deliveries("wh_1", 7, 9, events, kNow));
    EXPECT_FALSE(webhooks().enqueue_deliveries("wh_1", 7, 9, events, kNow));
    EXPECT_EQ(webhooks().count_pending("wh_1"), 2);
    EXPECT_TRUE(webhooks().enqueue_deliveries("wh_1", 9, 10, {}, kNow));
    EXPECT_EQ(webhooks().list_deliveries("wh_1", std::nullopt, 10).items.size(), 2u);
}

// What the stale job prunes (app/background_jobs wires it so): events every enabled
// subscription has consumed, once past their retention; the rest stay.
TEST_P(WebhookConformance, PruningKeepsTheEventsASubscriptionHasNotConsumed) {
    seed(2);
    const std::int64_t start = events().last_event_id();
    auto s = subscription("wh_1");
    s.cursor = start;
    webhooks().create_webhook(s);
    allocate("p-1");
    allocate("p-2");
    const auto written = events().read_events(start, 100);
    ASSERT_EQ(written.size(), 2u);
    const auto watermark = [&] {
        return delivered_watermark(webhooks().list_webhooks(), events().last_event_id());
    };
    EXPECT_EQ(watermark(), start) << "the subscription has taken none";
    events().prune_events(watermark(), kNow + 86400);
    EXPECT_EQ(events().read_events(start, 100).size(), 2u) << "kept, however old";

    // It takes the first: the first may go, the second stays.
    ASSERT_TRUE(webhooks().enqueue_deliveries("wh_1", start, written[0].id, {&written[0], 1}, kNow));
    events().prune_events(watermark(), kNow + 86400);
    const auto left = events().read_events(0, 100);
    ASSERT_FALSE(left.empty());
    EXPECT_EQ(left.front().id, written[1].id);

    // A disabled subscription holds nothing back.
    EXPECT_TRUE(webhooks().disable_webhook("wh_1", "off", kNow));
    events().prune_events(watermark(), kNow + 86400);
    EXPECT_TRUE(events().read_events(0, 100).empty()) << "every old event went";
}

TEST(WebhookStoreParts, TheWatermarkIsTheLowestEnabledCursor) {
    std::vector<WebhookSubscription> subs(3);
    subs[0].cursor = 40;
    subs[1].cursor = 12;
    subs[1].enabled = false;
    subs[2].cursor = 25;
    EXPECT_EQ(delivered_watermark(subs, 50), 25);
    EXPECT_EQ(delivered_watermark({}, 50), 50);
    EXPECT_EQ(split_event_types(join_event_types({"a.b", "c"})), (std::vector<std::string>{"a.b", "c"}));
    EXPECT_TRUE(split_event_types("").empty());
}

}  // namespace
}  // namespace broker::testing
