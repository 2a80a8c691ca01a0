// Webhook delivery end to end on the real binary (`run`, SQLite): a receiver written here
// that fails some deliveries and checks every Standard Webhooks signature; 500 allocations
// and returns delivered at least once each, in order per sandbox; a `kill -9` mid-delivery
// loses nothing; a hanging receiver does not hold another subscription back; a subscription
// that keeps failing is disabled and says so.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string unbase64(const std::string& text) {
    std::string out(3 * text.size() / 4 + 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return {};
    std::size_t size = static_cast<std::size_t>(n);
    // EVP_DecodeBlock counts the padding's bytes as data.
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --size;
    out.resize(size);
    return out;
}

// The Standard Webhooks signature, computed here independently of the broker's code.
std::string expected_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                               const std::string& body) {
    const std::string key = unbase64(secret.substr(std::string("whsec_").size()));
    const std::string signed_text = id + "." + timestamp + "." + body;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &mac_size);
    return "v1," + base64(mac, mac_size);
}

// One POST the receiver got.
struct Receipt {
    std::string id;  // webhook-id
    std::string type;
    std::string sandbox_id;  // "" for events of no sandbox
    bool signature_ok = false;
    bool answered_ok = false;  // answered 2xx (the delivery counts as made)
    std::chrono::steady_clock::time_point at;
};

// A webhook receiver on 127.0.0.1: a thread per connection, keep-alive. It answers 500 to a
// `fail_ratio` share of requests (from a fixed seed), 204 to the others; `hold()` makes it
// keep every request unanswered until `release()` (a hanging receiver).
class Receiver {
  public:
    explicit Receiver(double fail_ratio = 0.0, unsigned seed = 12)
        : fail_ratio_(fail_ratio),
          random_(seed),
          acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        port_ = acceptor_.local_endpoint().port();
        acceptor_fd_ = acceptor_.native_handle();
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~Receiver() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            held_ = false;
            for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
        }
        changed_.notify_all();
        // Wakes the blocked accept; the acceptor is closed once its thread is gone.
        ::shutdown(acceptor_fd_, SHUT_RDWR);
        accept_thread_.join();
        for (auto& t : connections_) t.join();
        beast::error_code ignored;
        acceptor_.close(ignored);
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
    void set_secret(const std::string& secret) {
        std::lock_guard lock(mutex_);
        secret_ = secret;
    }
    void hold() {
        std::lock_guard lock(mutex_);
        held_ = true;
    }
    // `drop`: the requests held so far get no answer (their connections are closed), as if
    // the receiver never saw them; later requests are served as usual.
    void release(bool drop = false) {
        {
            std::lock_guard lock(mutex_);
            held_ = false;
            if (drop) ++drop_generation_;
        }
        changed_.notify_all();
    }
    int waiting() const {
        std::lock_guard lock(mutex_);
        return waiting_;
    }
    std::vector<Receipt> receipts() const {
        std::lock_guard lock(mutex_);
        return receipts_;
    }
    // The distinct webhook-ids answered 2xx.
    std::set<std::string> delivered() const {
        std::lock_guard lock(mutex_);
        std::set<std::string> out;
        for (const auto& r : receipts_)
            if (r.answered_ok) out.insert(r.id);
        return out;
    }

  private:
    void accept_loop() {
        for (;;) {
            beast::error_code ec;
            tcp::socket socket(io_);
            acceptor_.accept(socket, ec);
            std::lock_guard lock(mutex_);
            if (ec || stopping_) return;
            open_fds_.insert(socket.native_handle());
            connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
        }
    }

    void serve(tcp::socket socket) {
        const int fd = socket.native_handle();
        beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> req;
            beast::error_code ec;
            bhttp::read(socket, buffer, req, ec);
            if (ec) break;
            Receipt r;
            r.at = std::chrono::steady_clock::now();
            r.id = std::string(req["webhook-id"]);
            const auto body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
            if (body.is_object()) {
                r.type = body.value("type", "");
                if (body.contains("data") && body["data"].is_object() && r.type.rfind("sandbox.", 0) == 0)
                    r.sandbox_id = body["data"].value("id", "");
            }
            bool fail = false;
            {
                std::unique_lock lock(mutex_);
                const std::string expected =
                    expected_signature(secret_, r.id, std::string(req["webhook-timestamp"]), req.body());
                // The header may carry several space-separated signatures (key rotation).
                std::istringstream signatures{std::string(req["webhook-signature"])};
                for (std::string s; signatures >> s;) r.signature_ok = r.signature_ok || s == expected;
                // webhook-id is the event's id, the body's `id`.
                const bool id_matches = body.is_object() && body.contains("id") &&
                                        body["id"].is_number_integer() &&
                                        r.id == std::to_string(body["id"].get<std::int64_t>());
                // A fresh timestamp (a receiver refuses old ones as replays): within 5 minutes.
                const auto sent_at = std::strtoll(std::string(req["webhook-timestamp"]).c_str(), nullptr, 10);
                const auto wall = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
                const bool fresh = std::llabs(wall - sent_at) <= 300;
                r.signature_ok = r.signature_ok && !secret_.empty() && id_matches && fresh;
                const int generation = drop_generation_;
                ++waiting_;
                changed_.wait(lock, [this] { return !held_; });
                --waiting_;
                if (stopping_ || generation != drop_generation_) break;
                fail = std::uniform_real_distribution<double>(0.0, 1.0)(random_) < fail_ratio_;
                r.answered_ok = !fail && r.signature_ok;
                receipts_.push_back(r);
            }
            bhttp::response<bhttp::string_body> res{
                r.answered_ok ? bhttp::status::no_content : bhttp::status::internal_server_error,
                req.version()};
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            bhttp::write(socket, res, ec);
            if (ec || !req.keep_alive()) break;
        }
        std::lock_guard lock(mutex_);
        open_fds_.erase(fd);
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
    }

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    double fail_ratio_;
    std::mt19937 random_;
    std::string secret_;
    bool held_ = false;
    bool stopping_ = false;
    int waiting_ = 0;
    int drop_generation_ = 0;
    std::vector<Receipt> receipts_;
    std::set<int> open_fds_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    int acceptor_fd_ = -1;
    unsigned short port_ = 0;
    std::thread accept_thread_;
    std::list<std::thread> connections_;
};

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
