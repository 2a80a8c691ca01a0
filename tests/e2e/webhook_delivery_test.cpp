// Webhook delivery end to end on the real binary (`run`, SQLite): a receiver (webhook_receiver.hpp)
// that fails some deliveries and checks every Standard Webhooks signature; 500 allocations
// and returns delivered at least once each, in order per sandbox; a `kill -9` mid-delivery
// loses nothing; a hanging receiver does not hold another subscription back; a subscription
// that keeps failing is disabled and says so.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/webhook_receiver.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

using webhook_receiver::Receipt;
using webhook_receiver::Receiver;

const Headers kAdmin = {{"Authorization", "Bearer " + kAdminToken}};

// Short retries and timeouts, a fast poll: what a test can wait for.
Environment webhook_env() {
    Environment env = serving_env();
    env["WEBHOOK_TIMEOUT_SEC"] = "2";
    env["WEBHOOK_POLL_MS"] = "50";
    env["WEBHOOK_RETRY_BASE_SEC"] = "0.05";
    env["WEBHOOK_RETRY_CAP_SEC"] = "1";
    env["WEBHOOK_MAX_IN_FLIGHT"] = "16";
    return env;
}

struct Subscription {
    std::string id;
    std::string secret;
};

Subscription subscribe(HttpClient& http, Receiver& receiver, const nlohmann::json& types) {
    const nlohmann::json body = {{"url", receiver.url()}, {"event_types", types}, {"description", "e2e"}};
    auto headers = kAdmin;
    headers.emplace_back("Content-Type", "application/json");
    const auto res = http.post("/v1/admin/webhooks", headers, body.dump());
    EXPECT_EQ(res.status, 201) << res.body;
    Subscription s{res.json.value("id", ""), res.json.value("secret", "")};
    EXPECT_EQ(s.secret.rfind("whsec_", 0), 0u) << res.body;
    receiver.set_secret(s.secret);
    return s;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

// Allocates `count` sandboxes (one participant each) and returns them; the sandbox ids.
std::vector<std::string> allocate_and_return(BrokerInstance& broker, int count, bool give_back = true) {
    auto http = broker.client();
    std::vector<std::pair<std::string, std::string>> held;
    for (int i = 0; i < count; ++i) {
        const std::string participant = unique_participant("wh");
        const auto res = allocate(http, participant);
        EXPECT_EQ(res.status, 201) << res.body;
        held.emplace_back(res.json.value("sandbox_id", ""), participant);
    }
    std::vector<std::string> ids;
    for (const auto& [id, participant] : held) {
        if (give_back) {
            EXPECT_EQ(mark_for_deletion(http, id, participant).status, 200);
        }
        ids.push_back(id);
    }
    return ids;
}

TEST(WebhookDelivery, FiveHundredAllocationsAndReturnsArriveSignedAtLeastOnceInOrderPerSandbox) {
    constexpr int kSandboxes = 500;
    BrokerInstance broker(sandboxes("wh-many-", kSandboxes, 810000), webhook_env());
    Receiver receiver(0.3);
    auto http = broker.client();
    const auto sub = subscribe(http, receiver, {"sandbox.allocated", "sandbox.returned"});

    const auto ids = allocate_and_return(broker, kSandboxes);
    ASSERT_TRUE(wait_for([&] { return receiver.delivered().size() == 2u * kSandboxes; }, 120s))
        << receiver.delivered().size() << " of " << 2 * kSandboxes << " delivered";

    const auto receipts = receiver.receipts();
    std::map<std::string, std::vector<std::string>>
        first_ok_types;  // sandbox -> types, first 2xx receipt order
    std::set<std::string> seen_ok;
    std::map<std::string, int> per_type;
    int failed_answers = 0;
    for (const auto& r : receipts) {
        EXPECT_TRUE(r.signature_ok) << "event " << r.id;
        if (!r.answered_ok) {
            ++failed_answers;
            continue;
        }
        if (!seen_ok.insert(r.id).second) continue;
        ++per_type[r.type];
        first_ok_types[r.sandbox_id].push_back(r.type);
    }
    // Exactly the expected events: one of each kind per sandbox, nothing else.
    EXPECT_EQ(per_type.size(), 2u);
    EXPECT_EQ(per_type["sandbox.allocated"], kSandboxes);
    EXPECT_EQ(per_type["sandbox.returned"], kSandboxes);
    EXPECT_EQ(first_ok_types.size(), static_cast<std::size_t>(kSandboxes));
    for (const auto& id : ids) {
        const std::vector<std::string> expected{"sandbox.allocated", "sandbox.returned"};
        EXPECT_EQ(first_ok_types[id], expected) << id;
    }
    // The receiver did fail a good share, so retries were exercised.
    EXPECT_GT(failed_answers, kSandboxes / 5);

    // The admin API shows each attempt: the newest 500 deliveries all delivered once the
    // attempts in flight are recorded, some after more than one attempt.
    HttpResponse deliveries;
    const auto all_delivered = [&] {
        deliveries = http.get("/v1/admin/webhooks/" + sub.id + "/deliveries?limit=500", kAdmin);
        if (deliveries.status != 200 || deliveries.json["deliveries"].size() != 500u) return false;
        for (const auto& d : deliveries.json["deliveries"])
            if (d.value("status", "") != "delivered") return false;
        return true;
    };
    ASSERT_TRUE(wait_for(all_delivered, 10s)) << deliveries.body.substr(0, 2000);
    int retried = 0;
    for (const auto& d : deliveries.json["deliveries"]) {
        if (d.value("attempts", 0) > 1) ++retried;
        EXPECT_EQ(d.value("last_http_status", 0), 204) << d.dump();
    }
    EXPECT_GT(retried, 0);
}

TEST(WebhookDelivery, AWorkerKilledMidDeliveryLosesNothingAfterRestart) {
    constexpr int kSandboxes = 40;
    BrokerInstance broker(sandboxes("wh-kill-", kSandboxes, 820000), webhook_env());
    Receiver receiver;
    {
        auto http = broker.client();
        subscribe(http, receiver, {"sandbox.allocated", "sandbox.returned"});
    }
    receiver.hold();
    allocate_and_return(broker, kSandboxes);
    // Mid-delivery: attempts are in flight (the receiver holds them) and none has been answered.
    ASSERT_TRUE(wait_for([&] { return receiver.waiting() >= 4; }, 10s)) << receiver.waiting();
    ASSERT_EQ(::kill(broker.process().pid(), SIGKILL), 0);
    ASSERT_TRUE(wait_for([&] { return !broker.process().running(); }, 10s));
    receiver.release(/*drop=*/true);
    EXPECT_TRUE(receiver.delivered().empty());

    broker.start();  // the same store: the dead worker's claims run out, then are sent again
    ASSERT_TRUE(wait_for([&] { return receiver.delivered().size() == 2u * kSandboxes; }, 60s))
        << receiver.delivered().size() << " of " << 2 * kSandboxes << " delivered";
    for (const auto& r : receiver.receipts()) EXPECT_TRUE(r.signature_ok) << r.id;
}

TEST(WebhookDelivery, AHangingReceiverDoesNotHoldAnotherSubscriptionBack) {
    constexpr int kSandboxes = 30;
    BrokerInstance broker(sandboxes("wh-hang-", kSandboxes, 830000), webhook_env());
    Receiver hanging;
    Receiver healthy;
    hanging.hold();
    {
        auto http = broker.client();
        subscribe(http, hanging, {"sandbox.allocated"});
        subscribe(http, healthy, {"sandbox.allocated"});
    }
    allocate_and_return(broker, kSandboxes, /*give_back=*/false);
    // Every event reaches the healthy receiver within the attempt timeout (2 s, plus a second
    // for polling) of the last allocation, while the hanging one holds its subscription's
    // every slot: one attempt at a time across subscriptions would take 2 s per event.
    ASSERT_TRUE(
        wait_for([&] { return healthy.delivered().size() == static_cast<std::size_t>(kSandboxes); }, 3s))
        << healthy.delivered().size() << " of " << kSandboxes;
    EXPECT_GT(hanging.waiting(), 0);
    EXPECT_TRUE(hanging.delivered().empty());
    hanging.release();
}

TEST(WebhookDelivery, ASubscriptionThatKeepsFailingIsDisabledAndReported) {
    Environment env = webhook_env();
    env["WEBHOOK_MAX_RETRY_SEC"] = "0";  // each failed attempt fails its delivery
    env["WEBHOOK_DISABLE_AFTER_FAILURES"] = "3";
    BrokerInstance broker(sandboxes("wh-off-", 10, 840000), env);
    Receiver failing(1.0);
    Receiver listener;
    auto http = broker.client();
    const auto bad = subscribe(http, failing, {"sandbox.allocated"});
    subscribe(http, listener, {"webhook.disabled"});

    allocate_and_return(broker, 5, /*give_back=*/false);
    ASSERT_TRUE(wait_for(
        [&] {
            const auto res = http.get("/v1/admin/webhooks/" + bad.id, kAdmin);
            return res.status == 200 && res.json.value("enabled", true) == false;
        },
        20s));
    const auto res = http.get("/v1/admin/webhooks/" + bad.id, kAdmin);
    EXPECT_TRUE(res.json["disabled_reason"].is_string()) << res.body;
    EXPECT_NE(res.json.value("disabled_reason", "").find("in a row"), std::string::npos) << res.body;
    EXPECT_TRUE(res.json["disabled_at"].is_number()) << res.body;

    // Another subscription hears of it: a signed webhook.disabled event naming the subscription.
    ASSERT_TRUE(wait_for([&] { return listener.delivered().size() == 1; }, 10s));
    const auto receipts = listener.receipts();
    EXPECT_EQ(receipts.front().type, "webhook.disabled");
    EXPECT_TRUE(receipts.front().sandbox_id.empty());
    EXPECT_TRUE(receipts.front().signature_ok);
    EXPECT_GE(failing.receipts().size(), 3u);
    for (const auto& r : failing.receipts()) EXPECT_TRUE(r.signature_ok);
}

}  // namespace
}  // namespace broker::e2e
