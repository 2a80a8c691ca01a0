// Rate limit and CORS of the real binary over HTTP: one participant flooding gets 429s with
// Retry-After while another participant and /healthz are unaffected; preflights and CORS
// headers for a listed origin, none at all for an unlisted one.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

bool has_cors_header(const HttpResponse& res) {
    for (const auto& [name, value] : res.headers) {
        std::string lower = name;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.rfind("access-control-", 0) == 0) return true;
    }
    return false;
}

TEST(EdgeRateLimit, OneParticipantIsThrottledOthersAndHealthAreNot) {
    Environment env = serving_env();
    env["RATE_LIMIT_ENABLED"] = "true";  // defaults: 50/s sustained, burst 200
    BrokerInstance broker(sandboxes("rl-", 5, 720000), env);
    const std::string flooder = unique_participant("flooder");

    // 320 requests of one participant over 8 connections, as fast as they go. Lookups of a
    // sandbox it does not hold: cheap, so the burst is spent in well under a second.
    std::atomic<int> refused{0}, refused_with_retry_after{0}, answered{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            auto client = broker.client();
            for (int i = 0; i < 40; ++i) {
                const auto res = get_sandbox(client, "720000", flooder);
                ++answered;
                if (res.status != 429) continue;
                ++refused;
                if (!res.header("Retry-After").empty() && res.json["error"]["code"] == "RATE_LIMIT_EXCEEDED" &&
                    res.json["error"]["retry_after"].is_number()) {
                    ++refused_with_retry_after;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(answered, 320);
    EXPECT_GE(refused, 50);
    EXPECT_EQ(refused_with_retry_after, refused);

    auto client = broker.client();
    const auto other = allocate(client, unique_participant("bystander"));
    EXPECT_EQ(other.status, 201) << other.body;
    EXPECT_EQ(other.header("X-RateLimit-Limit"), "200");
    EXPECT_FALSE(other.header("X-RateLimit-Remaining").empty());
    for (int i = 0; i < 20; ++i) {
        const auto health = client.get("/healthz");
        ASSERT_EQ(health.status, 200);
        EXPECT_FALSE(health.has_header("X-RateLimit-Limit"));
    }
    EXPECT_EQ(client.get("/metrics").status, 200);
}

class EdgeCorsTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        Environment env = serving_env();
        env["CORS_ALLOWED_ORIGINS"] = "https://play.instruqt.com, http://localhost:3000";
        broker_ = std::make_unique<BrokerInstance>(sandboxes("cors-", 5, 730000), env);
    }
    static void TearDownTestSuite() { broker_.reset(); }
    static inline std::unique_ptr<BrokerInstance> broker_;
    HttpClient client_ = broker_->client();
};

TEST_F(EdgeCorsTest, PreflightFromAnAllowedOriginListsTheInstruqtHeaders) {
    const auto res = client_.request("OPTIONS", "/v1/allocate",
                                     {{"Origin", "https://play.instruqt.com"},
                                      {"Access-Control-Request-Method", "POST"},
                                      {"Access-Control-Request-Headers", "authorization, x-instruqt-sandbox-id"}});
    EXPECT_EQ(res.status, 204);
    EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://play.instruqt.com");
    EXPECT_EQ(res.header("Access-Control-Allow-Methods"), "GET, POST");
    const std::string allowed = res.header("Access-Control-Allow-Headers");
    for (const char* name : {"Authorization", "Content-Type", "X-Instruqt-Sandbox-ID", "X-Instruqt-Track-ID",
                             "X-Track-ID", "X-Sandbox-Name-Prefix", "Idempotency-Key"}) {
        EXPECT_NE(allowed.find(name), std::string::npos) << name << " in " << allowed;
    }
    EXPECT_FALSE(res.header("Access-Control-Max-Age").empty());
    EXPECT_EQ(res.header("Vary"), "Origin");
}

TEST_F(EdgeCorsTest, AnswersToAnAllowedOriginExposeTheBrokerHeaders) {
    const auto res = client_.post("/v1/allocate",
                                  participant_headers(unique_participant("cors"), {{"Origin", "http://localhost:3000"}}));
    EXPECT_EQ(res.status, 201);
    EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "http://localhost:3000");
    const std::string exposed = res.header("Access-Control-Expose-Headers");
    for (const char* name : {"X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After"}) {
        EXPECT_NE(exposed.find(name), std::string::npos) << name;
    }
}

TEST_F(EdgeCorsTest, AnUnlistedOriginGetsNoCorsHeadersAtAll) {
    const auto preflight = client_.request("OPTIONS", "/v1/sandboxes/730000/mark-for-deletion",
                                           {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(preflight.status, 204) << "a preflight is answered, never the router's 405";
    EXPECT_FALSE(has_cors_header(preflight));
    const auto res = client_.get("/healthz", {{"Origin", "https://evil.example"}});
    EXPECT_EQ(res.status, 200);
    EXPECT_FALSE(has_cors_header(res));
    const auto no_origin = client_.get("/healthz");
    EXPECT_FALSE(has_cors_header(no_origin));
}

}  // namespace
}  // namespace broker::e2e
