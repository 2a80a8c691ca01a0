// The webhook delivery (jobs/webhook_dispatcher) over a real SQLite store, with a hand-written
// outbox and receiver: fan-out by type (once the claimable deliveries ran short), signed messages, retries on
// the injected clock, per-sandbox order, bounded concurrency per subscription on a few shared delivery
// threads, disabling, and two workers sharing the store.
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "../store/temp_dir.hpp"
#include "jobs/webhook_dispatcher.hpp"
#include "jobs/webhook_signature.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace broker {
namespace {

// The outbox as a list: every event final at once.
class FakeOutbox final : public EventStore {
  public:
    std::int64_t add(const std::string& type, const std::string& sandbox_id, UnixSeconds at = 0) {
        std::lock_guard lock(mutex_);
        OutboxEvent e;
        e.id = static_cast<std::int64_t>(events_.size()) + 1;
        e.type = type;
        e.sandbox_id = sandbox_id;
        e.at = at;
        e.payload =
            nlohmann::json{
                {"id", "evt_" + std::to_string(e.id)}, {"type", type}, {"data", {{"sandbox_id", sandbox_id}}}}
                .dump();
        events_.push_back(e);
        return e.id;
    }
    std::vector<OutboxEvent> read_events(std::int64_t after_id, int limit) override {
        std::lock_guard lock(mutex_);
        std::vector<OutboxEvent> out;
        for (const auto& e : events_)
            if (e.id > after_id && static_cast<int>(out.size()) < limit) out.push_back(e);
        return out;
    }
    void append_event(std::string_view type, std::string_view data_json, UnixSeconds now) override {
        const std::int64_t id = add(std::string(type), "", now);
        std::lock_guard lock(mutex_);
        appended_.emplace_back(std::string(type), std::string(data_json));
        (void)id;
    }
    std::int64_t last_event_id() override {
        std::lock_guard lock(mutex_);
        return static_cast<std::int64_t>(events_.size());
    }
    std::int64_t prune_events(std::int64_t, UnixSeconds) override { return 0; }

    std::vector<std::pair<std::string, std::string>> appended() {
        std::lock_guard lock(mutex_);
        return appended_;
    }

  private:
    std::mutex mutex_;
    std::vector<OutboxEvent> events_;
    std::vector<std::pair<std::string, std::string>> appended_;
};

// A receiver that records every message, answers with the status of its script (200 once the
// script runs out) and can hold a URL's requests until released.
class FakeReceiver final : public WebhookSender {
  public:
    struct Received {
        WebhookMessage message;
        int status;
    };

    WebhookSendResult send(const WebhookMessage& message) override {
        std::unique_lock lock(mutex_);
        ++waiting_[message.url];
        changed_.notify_all();
        changed_.wait(lock, [&] { return !held_.contains(message.url); });
        --waiting_[message.url];
        int status = 200;
        auto& script = scripts_[message.url];
        if (!script.empty()) {
            status = script.front();
            script.erase(script.begin());
        }
        received_.push_back({message, status});
        WebhookSendResult r;
        if (status > 0)
            r.http_status = status;
        else
            r.error = "connection refused";
        r.latency_ms = 3;
        return r;
    }

    void script(const std::string& url, std::vector<int> statuses) {
        std::lock_guard lock(mutex_);
        scripts_[url] = std::move(statuses);
    }
    void hold(const std::string& url) {
        std::lock_guard lock(mutex_);
        held_.insert(url);
    }
    void release(const std::string& url) {
        {
            std::lock_guard lock(mutex_);
            held_.erase(url);
        }
        changed_.notify_all();
    }
    void wait_waiting(const std::string& url, int n) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return waiting_[url] >= n; });
    }
    std::vector<Received> received() {
        std::lock_guard lock(mutex_);
        return received_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, std::vector<int>> scripts_;
    std::set<std::string> held_;
    std::map<std::string, int> waiting_;
    std::vector<Received> received_;
};

class WebhookDispatcherTest : public ::testing::Test {
  protected:
    WebhookDispatcherTest() {
        SqliteOptions options;
        options.path = dir_.file("broker.db");
        store_ = std::make_unique<SqliteStore>(options);
        store_->migrate();
        config_.retry_base = std::chrono::seconds(10);
        config_.retry_cap = std::chrono::seconds(60);
        config_.max_retry = std::chrono::seconds(600);
        config_.max_in_flight = 2;
        config_.poll = std::chrono::milliseconds(20);
    }

    WebhookSubscription subscribe(const std::string& id, const std::string& url,
                                  std::vector<std::string> types) {
        WebhookSubscription s;
        s.id = id;
        s.url = url;
        s.event_types = std::move(types);
        s.secret = generate_webhook_secret();
        s.created_at = clock_.now();
        store_->create_webhook(s);
        return s;
    }

    std::unique_ptr<WebhookDispatcher> dispatcher(const std::string& worker = "worker-1") {
        return std::make_unique<WebhookDispatcher>(*store_, outbox_, receiver_, clock_, config_, worker);
    }

    // Ticks (attempts finishing in between) until a tick starts nothing.
    void settle(WebhookDispatcher& d) {
        for (int i = 0; i < 50; ++i) {
            d.wait_idle();  // attempts already in flight end first: they hold slots
            const auto t = d.tick();
            d.wait_idle();
            if (t.started == 0 && t.enqueued == 0) return;
        }
        FAIL() << "the dispatcher did not settle";
    }

    std::vector<WebhookDelivery> deliveries(const std::string& id) {
        return store_->list_deliveries(id, std::nullopt, 500).items;
    }

    testing::TempDir dir_;
    std::unique_ptr<SqliteStore> store_;
    FakeOutbox outbox_;
    FakeReceiver receiver_;
    ManualClock clock_;
    WebhookConfig config_;
};

TEST_F(WebhookDispatcherTest, DeliversTheEventsASubscriptionWantsSignedTheStandardWebhooksWay) {
    const auto all = subscribe("wh_all", "http://a/", {"*"});
    const auto some = subscribe("wh_some", "http://b/", {"sandbox.returned"});
    outbox_.add("sandbox.allocated", "sb-1");
    outbox_.add("sandbox.returned", "sb-1");
    auto d = dispatcher();
    settle(*d);

    const auto got = receiver_.received();
    ASSERT_EQ(got.size(), 3u);
    int to_a = 0;
    for (const auto& r : got) {
        const auto& s = r.message.url == "http://a/" ? all : some;
        to_a += r.message.url == "http://a/" ? 1 : 0;
        EXPECT_TRUE(
            verify_webhook(s.secret, r.message.id, r.message.timestamp, r.message.body, r.message.signature));
        EXPECT_TRUE(r.message.id.starts_with("evt_")) << "the payload's id";
        EXPECT_EQ(r.message.timestamp, clock_.now());
    }
    EXPECT_EQ(to_a, 2);
    for (const auto& delivery : deliveries("wh_some")) {
        EXPECT_EQ(delivery.status, DeliveryStatus::delivered);
        EXPECT_EQ(delivery.event_type, "sandbox.returned");
        EXPECT_EQ(delivery.attempts, 1);
        EXPECT_EQ(delivery.last_http_status, 200);
    }
    EXPECT_EQ(store_->get_webhook("wh_some")->cursor, 2) << "the cursor passed the event it skipped";
}

TEST_F(WebhookDispatcherTest, AFailedAttemptIsRetriedWithBackoffOnTheClockThenDelivered) {
    subscribe("wh_1", "http://a/", {"*"});
    receiver_.script("http://a/", {500, 0});
    outbox_.add("sandbox.allocated", "sb-1");
    auto d = dispatcher();
    settle(*d);
    auto one = deliveries("wh_1").at(0);
    EXPECT_EQ(one.status, DeliveryStatus::pending);
    EXPECT_EQ(one.attempts, 1);
    EXPECT_EQ(one.last_http_status, 500);
    EXPECT_GE(one.next_attempt_at, clock_.now() + 5);
    EXPECT_LE(one.next_attempt_at, clock_.now() + 10);
    EXPECT_TRUE(store_->get_webhook("wh_1")->failing_since);

    clock_.advance(std::chrono::seconds(10));
    settle(*d);
    one = deliveries("wh_1").at(0);
    EXPECT_EQ(one.attempts, 2);
    EXPECT_EQ(one.last_error, "connection refused");
    EXPECT_FALSE(one.last_http_status);

    clock_.advance(std::chrono::seconds(20));
    settle(*d);
    one = deliveries("wh_1").at(0);
    EXPECT_EQ(one.status, DeliveryStatus::delivered);
    EXPECT_EQ(one.attempts, 3);
    EXPECT_FALSE(store_->get_webhook("wh_1")->failing_since)
        << "a delivered attempt clears the failure record";
    EXPECT_EQ(receiver_.received().size(), 3u);
}

TEST_F(WebhookDispatcherTest, ASandboxsNextEventWaitsUntilTheOneBeforeIsDone) {
    config_.max_in_flight = 1;  // one attempt at a time: the receiver's script meets them in order
    subscribe("wh_1", "http://a/", {"*"});
    receiver_.script("http://a/", {503});
    outbox_.add("sandbox.allocated", "sb-1");
    outbox_.add("sandbox.returned", "sb-1");
    outbox_.add("sandbox.allocated", "sb-2");
    auto d = dispatcher();
    settle(*d);
    // sb-1's first event failed; its second waits; sb-2 is not held up by it.
    auto got = receiver_.received();
    ASSERT_EQ(got.size(), 2u);
    for (const auto& r : got)
        EXPECT_NE(r.message.body.find("allocated"), std::string::npos) << r.message.body;

    clock_.advance(std::chrono::seconds(60));
    settle(*d);
    got = receiver_.received();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_NE(got[2].message.body.find("sb-1"), std::string::npos);
    EXPECT_NE(got[2].message.body.find("allocated"), std::string::npos);
    EXPECT_NE(got[3].message.body.find("returned"), std::string::npos) << "after the allocation it followed";
}

TEST_F(WebhookDispatcherTest, ADeliveryFailsAfterTheRetryWindowAndAFailingSubscriptionIsDisabledWithAnEvent) {
    config_.max_retry = std::chrono::seconds(30);
    config_.disable_after_failures = 2;
    subscribe("wh_bad", "http://down/", {"*"});
    receiver_.script("http://down/", std::vector<int>(100, 500));
    outbox_.add("sandbox.allocated", "sb-1");
    outbox_.add("sandbox.allocated", "sb-2");
    auto d = dispatcher();
    for (int i = 0; i < 10; ++i) {
        settle(*d);
        clock_.advance(std::chrono::seconds(15));
    }
    for (const auto& delivery : deliveries("wh_bad")) {
        EXPECT_EQ(delivery.status, DeliveryStatus::failed);
        EXPECT_GE(delivery.attempts, 2);
    }
    const auto s = store_->get_webhook("wh_bad");
    EXPECT_FALSE(s->enabled);
    EXPECT_EQ(s->disabled_reason, "2 deliveries failed in a row");
    // The store wrote the announcement with the disable, in its own outbox.
    std::vector<OutboxEvent> announced;
    for (const auto& e : store_->read_events(0, 1000))
        if (e.type == "webhook.disabled") announced.push_back(e);
    ASSERT_EQ(announced.size(), 1u) << "announced once";
    EXPECT_EQ(nlohmann::json::parse(announced[0].payload)["data"]["webhook_id"], "wh_bad");
    EXPECT_EQ(announced[0].payload.find(s->secret), std::string::npos);
}

TEST_F(WebhookDispatcherTest, ASlowReceiverHoldsOnlyItsOwnSlots) {
    subscribe("wh_slow", "http://slow/", {"*"});
    subscribe("wh_fast", "http://fast/", {"*"});
    receiver_.hold("http://slow/");
    for (int i = 0; i < 6; ++i) outbox_.add("sandbox.allocated", "sb-" + std::to_string(i));
    auto d = dispatcher();
    d->tick();
    receiver_.wait_waiting("http://slow/", 2);
    EXPECT_EQ(d->in_flight("wh_slow"), 2) << "WEBHOOK_MAX_IN_FLIGHT";
    // The fast subscription gets everything while the slow one holds two attempts.
    const auto fast_delivered = [&] {
        int n = 0;
        for (const auto& delivery : deliveries("wh_fast"))
            n += delivery.status == DeliveryStatus::delivered ? 1 : 0;
        return n;
    };
    for (int i = 0; i < 1000 && fast_delivered() < 6; ++i) {
        d->tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_EQ(fast_delivered(), 6);
    EXPECT_EQ(d->in_flight("wh_slow"), 2);
    receiver_.release("http://slow/");
    settle(*d);
    for (const auto& delivery : deliveries("wh_slow")) EXPECT_EQ(delivery.status, DeliveryStatus::delivered);
}

TEST_F(WebhookDispatcherTest, NewEventsBecomeDeliveriesOnceTheClaimableOnesRanShort) {
    subscribe("wh_1", "http://a/", {"*"});  // two in flight at most
    for (int i = 0; i < 5; ++i) outbox_.add("sandbox.allocated", "sb-" + std::to_string(i));
    auto d = dispatcher();
    auto t = d->tick();
    EXPECT_EQ(t.enqueued, 5);
    EXPECT_EQ(t.started, 2);
    d->wait_idle();
    for (int i = 5; i < 10; ++i) outbox_.add("sandbox.allocated", "sb-" + std::to_string(i));
    t = d->tick();
    EXPECT_EQ(t.enqueued, 0) << "the last claim got all it asked for: the new events wait in the outbox";
    EXPECT_EQ(t.started, 2);
    d->wait_idle();
    t = d->tick();
    EXPECT_EQ(t.enqueued, 0);
    EXPECT_EQ(t.started, 1) << "the last delivery made; the claim comes back short";
    d->wait_idle();
    t = d->tick();
    EXPECT_EQ(t.enqueued, 5);
    EXPECT_EQ(t.started, 2);
    settle(*d);
    std::set<std::string> ids;
    for (const auto& r : receiver_.received()) ids.insert(r.message.id);
    EXPECT_EQ(ids.size(), 10u);
    EXPECT_EQ(receiver_.received().size(), 10u);
    EXPECT_EQ(store_->get_webhook("wh_1")->cursor, 10);
}

TEST_F(WebhookDispatcherTest, DeliveriesShareAFewLongLivedThreads) {
    subscribe("wh_1", "http://a/", {"*"});
    subscribe("wh_2", "http://b/", {"*"});
    for (int i = 0; i < 30; ++i) outbox_.add("sandbox.allocated", "sb-" + std::to_string(i));
    auto d = dispatcher();
    settle(*d);
    EXPECT_EQ(receiver_.received().size(), 60u);
    for (const auto& id : {"wh_1", "wh_2"}) {
        for (const auto& delivery : deliveries(id)) EXPECT_EQ(delivery.status, DeliveryStatus::delivered);
        EXPECT_EQ(d->in_flight(id), 0) << "every slot freed once its attempt was recorded";
    }
    EXPECT_GE(d->delivery_threads(), 1);
    EXPECT_LE(d->delivery_threads(), 2 * config_.max_in_flight)
        << "no more threads than attempts ever in flight at once, not one per delivery";
    d->stop();
    EXPECT_EQ(d->delivery_threads(), 0);
}

TEST_F(WebhookDispatcherTest, TwoWorkersSharingTheStoreMakeEachDeliveryOnce) {
    subscribe("wh_1", "http://a/", {"*"});
    for (int i = 0; i < 40; ++i) outbox_.add("sandbox.allocated", "sb-" + std::to_string(i));
    auto one = dispatcher("worker-1");
    auto two = dispatcher("worker-2");
    one->start();
    two->start();
    for (int i = 0; i < 400; ++i) {
        if (store_->count_pending("wh_1") == 0 && deliveries("wh_1").size() == 40) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    one->stop();
    two->stop();
    const auto all = deliveries("wh_1");
    ASSERT_EQ(all.size(), 40u) << "each event turned into one delivery";
    std::set<std::string> ids;
    for (const auto& r : receiver_.received()) ids.insert(r.message.id);
    EXPECT_EQ(ids.size(), 40u);
    EXPECT_EQ(receiver_.received().size(), 40u) << "no delivery sent twice while its claim was live";
}

TEST_F(WebhookDispatcherTest, AKilledWorkersClaimRunsOutAndAnotherSendsTheDelivery) {
    subscribe("wh_1", "http://a/", {"*"});
    outbox_.add("sandbox.allocated", "sb-1");
    // A worker that claimed the delivery and died before recording anything.
    store_->enqueue_deliveries("wh_1", 0, 1, outbox_.read_events(0, 10), clock_.now());
    const auto claimed =
        store_->claim_deliveries({"wh_1", "dead-worker", clock_.now(), clock_.now() + 15, 4});
    ASSERT_EQ(claimed.size(), 1u);
    auto d = dispatcher();
    settle(*d);
    EXPECT_TRUE(receiver_.received().empty()) << "the claim is live";
    clock_.advance(std::chrono::seconds(15));
    settle(*d);
    ASSERT_EQ(receiver_.received().size(), 1u);
    EXPECT_EQ(deliveries("wh_1").at(0).status, DeliveryStatus::delivered);
}

}  // namespace
}  // namespace broker
