// The CSP client against a real local HTTP server: request paths and auth, retries with
// backoff, Retry-After, the circuit breaker, the provider rate limit, timeouts, 404 = gone.
// Waits go through a fake sleep that records them and moves the ManualClock.
#include <gtest/gtest.h>

#include "provider/csp_client.hpp"
#include "unit/support/log_capture.hpp"
#include "unit/support/scripted_http_server.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::LogCapture;
using testing::ScriptedHttpServer;
using testing::ScriptedResponse;

constexpr const char* kListPath = "/v2/current_user/accounts";
constexpr const char* kUuid = "6a1b3c5e-0000-4d2f-9e11-4b4f2a7c9d01";

const std::string kListBody = R"({"results": [
  {"account_type": "sandbox", "state": "active", "id": "identity/accounts/aaa-1", "name": "lab-0001",
   "csp_id": 2009521, "created_at": "2025-03-27T16:53:47.605459Z", "sfdc_account_id": "sf-1"},
  {"account_type": "enterprise", "state": "active", "id": "identity/accounts/bbb-2", "name": "corp", "csp_id": 7},
  {"account_type": "sandbox", "state": "deleted", "id": "identity/accounts/ccc-3", "name": "old", "csp_id": 8},
  {"account_type": "sandbox", "state": "active", "id": "identity/accounts/ddd-4", "name": "lab-0002",
   "csp_id": "2009522"}
]})";

// Records every wait; moves the clock by it (rounded up to whole seconds, the ManualClock's
// unit) unless told not to; can refuse, as a stopped sleep does at shutdown.
struct FakeSleep {
    explicit FakeSleep(ManualClock& c) : clock(c) {}
    ManualClock& clock;
    bool advance_clock = true;
    bool stopped = false;
    std::vector<milliseconds> waits;

    SleepFunction function() {
        return [this](milliseconds d) {
            waits.push_back(d);
            if (stopped) return false;
            if (advance_clock) clock.advance(std::chrono::ceil<seconds>(d));
            return true;
        };
    }
};

class CspClientTest : public ::testing::Test {
  protected:
    ScriptedHttpServer server_;
    ManualClock clock_;
    FakeSleep sleep_{clock_};

    CspClientOptions options() {
        CspClientOptions o;
        o.base_url = server_.base_url() + "/v2/";
        o.token = "csp-token-123";
        o.connect_timeout = milliseconds(200);
        o.read_timeout = milliseconds(300);
        o.breaker_threshold = 5;
        o.breaker_timeout = seconds(60);
        o.max_attempts = 3;
        o.rate_limit_rps = 0;  // unlimited unless a test is about the limit
        o.backoff = {milliseconds(100), milliseconds(1000)};
        return o;
    }
    CspClient client(CspClientOptions o) {
        return CspClient(std::move(o), clock_, sleep_.function(), [] { return 1.0; });
    }
};

TEST_F(CspClientTest, ListsActiveSandboxesWithTokenAuth) {
    server_.script("GET", kListPath, {ScriptedResponse::json(200, kListBody)});
    auto csp = client(options());
    const auto result = csp.list_sandboxes();

    ASSERT_TRUE(result.ok()) << result.failure->message;
    ASSERT_EQ(result.sandboxes.size(), 2u);
    EXPECT_EQ(result.sandboxes[0].sandbox_id, "2009521");
    EXPECT_EQ(result.sandboxes[0].external_id, "identity/accounts/aaa-1");
    EXPECT_EQ(result.sandboxes[0].name, "lab-0001");
    EXPECT_EQ(result.sandboxes[0].sfdc_account_id, "sf-1");
    EXPECT_EQ(result.sandboxes[1].sandbox_id, "2009522");
    EXPECT_EQ(result.ignored, 2u);
    EXPECT_EQ(result.attempts, 1);
    const auto requests = server_.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].target, kListPath);
    EXPECT_EQ(requests[0].header("Authorization"), "Token csp-token-123");
    EXPECT_TRUE(sleep_.waits.empty());
}

TEST_F(CspClientTest, RetriesServerErrorsAndHtmlThenSucceeds) {
    server_.script("GET", kListPath,
                   {ScriptedResponse::html(500, "<html><body>Internal Server Error</body></html>"),
                    ScriptedResponse::html(200, "<!DOCTYPE html><html>maintenance</html>"),
                    ScriptedResponse::json(200, kListBody)});
    auto csp = client(options());
    const auto result = csp.list_sandboxes();

    ASSERT_TRUE(result.ok()) << result.failure->message;
    EXPECT_EQ(result.sandboxes.size(), 2u);
    EXPECT_EQ(result.attempts, 3);
    EXPECT_EQ(server_.count("GET", kListPath), 3u);
    // Full jitter pinned at its ceiling: base, then twice the base.
    EXPECT_EQ(sleep_.waits, (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
}

TEST_F(CspClientTest, GivesUpAfterMaxAttemptsWithTheLastReason) {
    server_.script("GET", kListPath, {ScriptedResponse::html(503, "<html>busy</html>")});
    auto csp = client(options());
    const auto result = csp.list_sandboxes();

    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure->kind, ProviderFailureKind::unavailable);
    EXPECT_NE(result.failure->message.find("HTTP 503"), std::string::npos);
    EXPECT_TRUE(result.sandboxes.empty());
    EXPECT_EQ(result.attempts, 3);
    EXPECT_EQ(server_.count("GET", kListPath), 3u);
}

TEST_F(CspClientTest, StreamsTheListInPartsAndRetriesACutOffOneFromItsStart) {
    // The first answer breaks off after its first entry; the retry reads the whole list.
    const std::string body = kListBody;
    const auto second_entry = body.find("{", body.find("{", body.find("[")) + 1);
    server_.script(
        "GET", kListPath,
        {ScriptedResponse::json(200, body.substr(0, second_entry)), ScriptedResponse::json(200, body)});
    auto csp = client(options());
    std::vector<std::vector<std::string>> parts;
    const auto summary = csp.stream_sandboxes(1, [&](std::vector<ProviderSandbox>&& part) {
        std::vector<std::string> ids;
        for (const auto& s : part) ids.push_back(s.sandbox_id);
        parts.push_back(ids);
    });
    ASSERT_TRUE(summary.ok()) << summary.failure->message;
    EXPECT_EQ(summary.attempts, 2);
    EXPECT_EQ(summary.listed, 2u);
    EXPECT_EQ(summary.ignored, 2u);
    // The part of the broken answer came before the failure; the retry hands over all again.
    EXPECT_EQ(parts, (std::vector<std::vector<std::string>>{{"2009521"}, {"2009521"}, {"2009522"}}));
}

TEST_F(CspClientTest, MalformedJsonIsABadResponse) {
    auto o = options();
    o.max_attempts = 1;
    server_.script("GET", kListPath, {ScriptedResponse::json(200, R"({"results": [)")});
    auto csp = client(o);
    const auto result = csp.list_sandboxes();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure->kind, ProviderFailureKind::bad_response);
    EXPECT_NE(result.failure->message.find("not JSON"), std::string::npos);
}

TEST_F(CspClientTest, WrongTokenIsNotRetried) {
    server_.script("GET", kListPath, {ScriptedResponse::json(401, R"({"error":"invalid token"})")});
    auto csp = client(options());
    const auto result = csp.list_sandboxes();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure->kind, ProviderFailureKind::bad_response);
    EXPECT_EQ(result.attempts, 1);
    EXPECT_EQ(csp.breaker_state(), BreakerState::closed);
}

TEST_F(CspClientTest, HonoursRetryAfterOn429) {
    ScriptedResponse throttled = ScriptedResponse::json(429, R"({"error":"slow down"})");
    throttled.headers = {{"Retry-After", "2"}};
    server_.script("GET", kListPath, {throttled, ScriptedResponse::json(200, kListBody)});
    auto csp = client(options());
    const auto result = csp.list_sandboxes();

    ASSERT_TRUE(result.ok()) << result.failure->message;
    EXPECT_EQ(result.attempts, 2);
    EXPECT_EQ(sleep_.waits, (std::vector<milliseconds>{milliseconds(2000)}));
}

TEST_F(CspClientTest, LongRetryAfterGoesBackToTheCaller) {
    ScriptedResponse throttled = ScriptedResponse::json(429, "{}");
    throttled.headers = {{"Retry-After", "600"}};
    server_.script("GET", kListPath, {throttled});
    auto csp = client(options());
    const auto result = csp.list_sandboxes();

    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure->kind, ProviderFailureKind::rate_limited);
    EXPECT_EQ(result.failure->retry_after, seconds(600));
    EXPECT_EQ(result.attempts, 1);
    EXPECT_TRUE(sleep_.waits.empty());
}

TEST_F(CspClientTest, BreakerOpensStopsCallingThenProbes) {
    auto o = options();
    o.breaker_threshold = 3;
    o.max_attempts = 1;
    server_.script("GET", kListPath, {ScriptedResponse::html(500, "<html>down</html>")});
    auto csp = client(o);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(csp.list_sandboxes().failure->kind, ProviderFailureKind::unavailable);
    EXPECT_EQ(csp.breaker_state(), BreakerState::open);

    const auto refused = csp.list_sandboxes();
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.failure->kind, ProviderFailureKind::circuit_open);
    EXPECT_EQ(refused.failure->retry_after, seconds(60));
    EXPECT_EQ(refused.attempts, 0);
    const auto refused_delete = csp.delete_sandbox(std::string("identity/accounts/") + kUuid);
    EXPECT_EQ(refused_delete.status, DeleteStatus::failed);
    EXPECT_TRUE(refused_delete.retryable);
    // The cleanup job stops its run on this kind without counting an attempt.
    EXPECT_EQ(refused_delete.failure, ProviderFailureKind::circuit_open);
    EXPECT_EQ(server_.requests().size(), 3u);  // nothing reached the provider while open

    clock_.advance(seconds(60));
    server_.script("GET", kListPath, {ScriptedResponse::json(200, kListBody)});
    const auto probe = csp.list_sandboxes();
    ASSERT_TRUE(probe.ok()) << probe.failure->message;
    EXPECT_EQ(csp.breaker_state(), BreakerState::closed);
}

TEST_F(CspClientTest, BreakerOpeningEndsARetryLoop) {
    auto o = options();
    o.breaker_threshold = 2;
    o.max_attempts = 5;
    server_.script("GET", kListPath, {ScriptedResponse::html(502, "<html>bad gateway</html>")});
    auto csp = client(o);
    const auto result = csp.list_sandboxes();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure->kind, ProviderFailureKind::circuit_open);
    EXPECT_EQ(server_.count("GET", kListPath), 2u);
}

TEST_F(CspClientTest, SlowProviderTimesOut) {
    auto o = options();
    o.connect_timeout = milliseconds(100);
    o.read_timeout = milliseconds(150);
    o.max_attempts = 2;
    ScriptedResponse slow = ScriptedResponse::json(200, kListBody);
    slow.delay = milliseconds(500);
    server_.script("GET", kListPath, {slow});
    auto csp = client(o);

    const auto started = std::chrono::steady_clock::now();
    const auto result = csp.list_sandboxes();
    const auto took = std::chrono::steady_clock::now() - started;

    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure->kind, ProviderFailureKind::unavailable);
    EXPECT_NE(result.failure->message.find("timed out"), std::string::npos) << result.failure->message;
    EXPECT_EQ(result.attempts, 2);
    EXPECT_LT(took, seconds(3));
}

TEST_F(CspClientTest, UnreachableProviderIsUnavailable) {
    auto o = options();
    {
        ScriptedHttpServer closed;
        o.base_url = closed.base_url();
    }
    o.max_attempts = 2;
    auto csp = client(o);
    const auto result = csp.list_sandboxes();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.failure->kind, ProviderFailureKind::unavailable);
    EXPECT_NE(result.failure->message.find("cannot connect"), std::string::npos) << result.failure->message;
    EXPECT_EQ(result.attempts, 2);
}

TEST_F(CspClientTest, DeleteUsesTheUuidAndTokenAndTreats404AsGone) {
    const std::string path = std::string("/v2/sandbox/accounts/") + kUuid;
    server_.script("DELETE", path,
                   {ScriptedResponse::json(204, ""), ScriptedResponse::json(404, R"({"error":"no"})")});
    auto csp = client(options());

    const auto first = csp.delete_sandbox(std::string("identity/accounts/") + kUuid);
    EXPECT_EQ(first.status, DeleteStatus::deleted);
    EXPECT_TRUE(first.gone());
    const auto second = csp.delete_sandbox(std::string("identity/accounts/") + kUuid);
    EXPECT_EQ(second.status, DeleteStatus::already_gone);
    EXPECT_TRUE(second.gone());
    EXPECT_EQ(second.attempts, 1);

    const auto requests = server_.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].method, "DELETE");
    EXPECT_EQ(requests[0].target, path);
    EXPECT_EQ(requests[0].header("Authorization"), "Token csp-token-123");
}

TEST_F(CspClientTest, Delete200IsDeleted) {
    server_.script("DELETE", "/v2/sandbox/accounts/abc", {ScriptedResponse::json(200, "{}")});
    auto csp = client(options());
    EXPECT_EQ(csp.delete_sandbox("identity/accounts/abc").status, DeleteStatus::deleted);
}

TEST_F(CspClientTest, DeleteRetriesServerErrors) {
    server_.script("DELETE", "/v2/sandbox/accounts/abc",
                   {ScriptedResponse::html(500, "<html>x</html>"), ScriptedResponse::json(204, "")});
    auto csp = client(options());
    const auto result = csp.delete_sandbox("identity/accounts/abc");
    EXPECT_EQ(result.status, DeleteStatus::deleted);
    EXPECT_EQ(result.attempts, 2);
}

TEST_F(CspClientTest, DeleteFailureSaysWhetherToRetry) {
    server_.script("DELETE", "/v2/sandbox/accounts/down", {ScriptedResponse::html(500, "<html>x</html>")});
    server_.script("DELETE", "/v2/sandbox/accounts/forbidden",
                   {ScriptedResponse::json(403, R"({"error":"no"})")});
    auto csp = client(options());

    const auto down = csp.delete_sandbox("identity/accounts/down");
    EXPECT_EQ(down.status, DeleteStatus::failed);
    EXPECT_TRUE(down.retryable);
    EXPECT_EQ(down.attempts, 3);
    EXPECT_NE(down.reason.find("HTTP 500"), std::string::npos);

    const auto forbidden = csp.delete_sandbox("identity/accounts/forbidden");
    EXPECT_EQ(forbidden.status, DeleteStatus::failed);
    EXPECT_FALSE(forbidden.retryable);
    EXPECT_EQ(forbidden.attempts, 1);
}

TEST_F(CspClientTest, DeleteRefusesAnIdThatIsNotAUuidPath) {
    auto csp = client(options());
    const auto result = csp.delete_sandbox("identity/accounts/../../admin");
    EXPECT_EQ(result.status, DeleteStatus::failed);
    EXPECT_FALSE(result.retryable);
    EXPECT_TRUE(server_.requests().empty());
}

TEST_F(CspClientTest, RateLimitMakesCallersWait) {
    auto o = options();
    o.rate_limit_rps = 2;
    o.rate_limit_burst = 1;
    sleep_.advance_clock = false;  // three calls in the same instant
    server_.script("GET", kListPath, {ScriptedResponse::json(200, kListBody)});
    auto csp = client(o);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(csp.list_sandboxes().ok());
    EXPECT_EQ(sleep_.waits, (std::vector<milliseconds>{milliseconds(500), milliseconds(1000)}));
}

TEST_F(CspClientTest, StoppedSleepEndsTheCallWithoutRetrying) {
    server_.script("GET", kListPath, {ScriptedResponse::html(500, "<html>x</html>")});
    sleep_.stopped = true;
    auto csp = client(options());
    const auto result = csp.list_sandboxes();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.attempts, 1);
    EXPECT_EQ(server_.count("GET", kListPath), 1u);
}

TEST_F(CspClientTest, TheTokenNeverReachesTheLog) {
    server_.script("GET", kListPath, {ScriptedResponse::html(500, "<html>x</html>")});
    server_.script("DELETE", "/v2/sandbox/accounts/abc", {ScriptedResponse::json(429, "{}")});
    LogCapture capture;
    auto csp = client(options());
    csp.list_sandboxes();
    csp.delete_sandbox("identity/accounts/abc");
    const auto log = capture.text();
    EXPECT_NE(log.find("current_user/accounts"), std::string::npos);  // the capture works
    EXPECT_EQ(log.find("csp-token-123"), std::string::npos);
}

// What the metrics are fed: each exchange's outcome and the breaker's state after it.
struct RecordingObserver final : ProviderObserver {
    std::vector<std::string> calls;  // "operation outcome"
    std::vector<BreakerState> states;
    void call_finished(std::string_view operation, ProviderCallOutcome outcome) override {
        calls.push_back(std::string(operation) + " " + std::string(to_string(outcome)));
    }
    void breaker_state(std::string_view breaker, BreakerState state) override {
        EXPECT_EQ(breaker, "csp");
        states.push_back(state);
    }
};

TEST_F(CspClientTest, ReportsEveryExchangeToItsObserver) {
    server_.script(
        "GET", kListPath,
        {ScriptedResponse::html(500, "<html>down</html>"),
         ScriptedResponse::html(200, "<html>maintenance</html>"), ScriptedResponse::json(200, kListBody)});
    const std::string path = std::string("/v2/sandbox/accounts/") + kUuid;
    server_.script(
        "DELETE", path,
        {ScriptedResponse::json(429, "{}"), ScriptedResponse::json(204, ""),
         ScriptedResponse::json(404, "{}"), ScriptedResponse::json(403, R"({"error":"forbidden"})")});
    RecordingObserver observer;
    CspClient csp(
        options(), clock_, sleep_.function(), [] { return 1.0; }, &observer);
    ASSERT_EQ(observer.states,
              std::vector<BreakerState>{BreakerState::closed});  // the series exists from the start

    ASSERT_TRUE(csp.list_sandboxes().ok());
    const std::string external_id = std::string("identity/accounts/") + kUuid;
    EXPECT_EQ(csp.delete_sandbox(external_id).status, DeleteStatus::deleted);
    EXPECT_EQ(csp.delete_sandbox(external_id).status, DeleteStatus::already_gone);
    EXPECT_EQ(csp.delete_sandbox(external_id).status, DeleteStatus::failed);
    EXPECT_EQ(observer.calls, (std::vector<std::string>{"list server_error", "list bad_response", "list ok",
                                                        "delete throttled", "delete ok", "delete ok",
                                                        "delete client_error"}));
}

TEST_F(CspClientTest, ReportsTheBreakerOpeningAndTheCallsItRefuses) {
    server_.script("GET", kListPath, {ScriptedResponse::html(503, "<html>busy</html>")});
    auto o = options();
    o.breaker_threshold = 2;
    o.max_attempts = 1;
    RecordingObserver observer;
    CspClient csp(
        o, clock_, sleep_.function(), [] { return 1.0; }, &observer);

    EXPECT_FALSE(csp.list_sandboxes().ok());
    EXPECT_EQ(observer.states.back(), BreakerState::closed);
    EXPECT_FALSE(csp.list_sandboxes().ok());
    EXPECT_EQ(observer.states.back(), BreakerState::open);
    EXPECT_FALSE(csp.list_sandboxes().ok());  // refused: nothing sent
    EXPECT_EQ(server_.count("GET", kListPath), 2u);
    EXPECT_EQ(observer.calls,
              (std::vector<std::string>{"list server_error", "list server_error", "list circuit_open"}));
    EXPECT_EQ(observer.states.back(), BreakerState::open);

    clock_.advance(o.breaker_timeout);  // the probe goes through, fails, and opens it again
    EXPECT_FALSE(csp.list_sandboxes().ok());
    EXPECT_EQ(observer.calls.back(), "list server_error");
    EXPECT_EQ(observer.states.back(), BreakerState::open);
    server_.script("GET", kListPath, {ScriptedResponse::json(200, kListBody)});
    clock_.advance(o.breaker_timeout);
    EXPECT_TRUE(csp.list_sandboxes().ok());
    EXPECT_EQ(observer.states.back(), BreakerState::closed);
}

TEST(ProviderCallOutcome, ClassifiesStatusesAndTransportErrors) {
    const auto answered = [](long status) {
        HttpResult r;
        r.response = HttpResponse{status, {}, ""};
        return classify_call(r);
    };
    const auto failed = [](TransportErrorKind kind) {
        HttpResult r;
        r.error = TransportError{kind, "x"};
        return classify_call(r);
    };
    EXPECT_EQ(answered(200), ProviderCallOutcome::ok);
    EXPECT_EQ(answered(204), ProviderCallOutcome::ok);
    EXPECT_EQ(answered(302), ProviderCallOutcome::bad_response);
    EXPECT_EQ(answered(401), ProviderCallOutcome::client_error);
    EXPECT_EQ(answered(404), ProviderCallOutcome::client_error);
    EXPECT_EQ(answered(408), ProviderCallOutcome::server_error);
    EXPECT_EQ(answered(429), ProviderCallOutcome::throttled);
    EXPECT_EQ(answered(502), ProviderCallOutcome::server_error);
    EXPECT_EQ(failed(TransportErrorKind::timeout), ProviderCallOutcome::timeout);
    EXPECT_EQ(failed(TransportErrorKind::connect), ProviderCallOutcome::transport_error);
    EXPECT_EQ(failed(TransportErrorKind::other), ProviderCallOutcome::transport_error);
    EXPECT_EQ(to_string(ProviderCallOutcome::circuit_open), "circuit_open");
}

}  // namespace
}  // namespace broker

namespace broker {
namespace {

class CspClientPaceTest : public CspClientTest {};

TEST_F(CspClientPaceTest, EveryCallTakesAPlaceAndTellsTheLimitHowItWent) {
    ScriptedResponse throttled = ScriptedResponse::json(429, "{}");
    throttled.headers = {{"Retry-After", "1"}};
    server_.script("GET", kListPath,
                   {throttled, ScriptedResponse::html(500, "<html>down</html>"),
                    ScriptedResponse::json(200, kListBody)});
    AdaptiveLimiterOptions o;
    o.initial = 8;
    AdaptiveLimiter pace(clock_, o);
    CspClient csp(
        options(), clock_, sleep_.function(), [] { return 1.0; }, nullptr, &pace);
    const auto result = csp.list_sandboxes();
    ASSERT_TRUE(result.ok()) << result.failure->message;
    const auto stats = pace.stats();
    EXPECT_EQ(stats.calls, 3u);
    EXPECT_EQ(stats.throttled, 1u);
    EXPECT_EQ(stats.congested, 2u) << "the 429 and the 500";
    EXPECT_EQ(stats.in_flight, 0) << "every place given back";
    EXPECT_LT(stats.limit, 8);
}

TEST_F(CspClientPaceTest, AStoppedWaitForAPlaceSendsNothing) {
    AdaptiveLimiterOptions o;
    o.max = 1;
    o.initial = 1;
    AdaptiveLimiter pace(clock_, o);
    const auto held = pace.try_acquire();  // another job's call in flight
    ASSERT_TRUE(held);
    sleep_.stopped = true;
    CspClient csp(
        options(), clock_, sleep_.function(), [] { return 1.0; }, nullptr, &pace);
    const auto result = csp.delete_sandbox("identity/accounts/abc");
    EXPECT_EQ(result.status, DeleteStatus::failed);
    EXPECT_TRUE(result.retryable);
    EXPECT_EQ(server_.requests().size(), 0u);
    EXPECT_EQ(pace.in_flight(), 1);
}

}  // namespace
}  // namespace broker
