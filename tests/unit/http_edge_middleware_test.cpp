// The edge middlewares through a real Pipeline and Router: CORS preflights and headers, the
// rate limit (on the injected clock) with its exemptions and headers, request metrics by
// route template, the docs page's relaxed CSP, and one structured access-log line.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/clock.hpp"
#include "http/middleware/access_log.hpp"
#include "http/middleware/cors.hpp"
#include "http/middleware/rate_limit.hpp"
#include "http/middleware/request_metrics.hpp"
#include "http/middleware/security_headers.hpp"
#include "http_edge_test_support.hpp"
#include "unit/support/log_capture.hpp"
#include "obs/json_log.hpp"

namespace broker {
namespace {

using testing::LogCapture;
using testing::make_request;
using testing::run_pipeline;

asio::awaitable<Response> ok(RequestContext& ctx) {
    Response res{bhttp::status::ok, 11};
    res.body() = "{}";
    co_return res;
}

asio::awaitable<Response> pool_empty(RequestContext& ctx) {
    ctx.action = "allocate";
    ctx.outcome = "no_sandboxes";
    ctx.log_message = "No sandboxes available";
    Response res{bhttp::status::conflict, 11};
    co_return res;
}

class EdgeMiddlewareTest : public ::testing::Test {
  protected:
    EdgeMiddlewareTest() : auth("participant-token-123456", "admin-token-1234567") {
        // Access-log lines go to a buffer here, not the test's output.
        auto quiet = std::make_shared<spdlog::logger>("quiet", std::make_shared<spdlog::sinks::ostream_sink_mt>(sink_));
        quiet->set_formatter(make_log_formatter(LogFormat::json));
        spdlog::set_default_logger(quiet);
        router.add(bhttp::verb::get, "/healthz", Access::open, ok);
        router.add(bhttp::verb::get, "/v1/sandboxes/{id}", Access::open, ok);
        router.add(bhttp::verb::get, "/v1/own/{id}", Access::participant, ok);
        router.add(bhttp::verb::post, "/v1/allocate", Access::open, pool_empty);
        router.add(bhttp::verb::get, "/v1/docs", Access::open, ok);
    }

    void build(std::vector<std::string> origins, bool limit) {
        auto security = std::make_unique<SecurityHeaders>();
        security->relax_csp_for("/v1/docs", "default-src 'none'; script-src 'sha256-x'");
        pipeline.use(std::move(security));
        pipeline.use(std::make_unique<Cors>(CorsPolicy(std::move(origins))));
        if (limit) {
            pipeline.use(std::make_unique<RateLimit>(limiter, TrustedProxies{}, std::vector<std::string>{"/healthz"}));
        }
        pipeline.use(std::make_unique<RequestMetrics>(metrics, router));
        pipeline.use(std::make_unique<AccessLog>(
            clock, 1000, registry.counter("broker_access_log_suppressed_total", "left out")));
    }

    ~EdgeMiddlewareTest() override { spdlog::set_default_logger(previous_); }

    std::string metrics_text() const { return registry.render(); }

    std::shared_ptr<spdlog::logger> previous_ = spdlog::default_logger();
    std::ostringstream sink_;
    ManualClock clock;
    MetricsRegistry registry;
    ApiMetrics metrics{registry};
    RateLimiter limiter{clock, {.rps = 1, .burst = 3}};
    Router router;
    Authenticator auth;
    Pipeline pipeline{router, auth};
};

TEST_F(EdgeMiddlewareTest, PreflightFromAListedOriginIs204WithTheAllowLists) {
    build({"https://play.instruqt.com"}, false);
    const auto res = run_pipeline(pipeline, make_request(bhttp::verb::options, "/v1/allocate",
                                                         {{"Origin", "https://play.instruqt.com"},
                                                          {"Access-Control-Request-Method", "POST"}}));
    EXPECT_EQ(res.result(), bhttp::status::no_content);
    EXPECT_EQ(res["Access-Control-Allow-Origin"], "https://play.instruqt.com");
    EXPECT_EQ(res["Access-Control-Allow-Methods"], "GET, POST");
    const std::string headers(res["Access-Control-Allow-Headers"]);
    for (const char* name : {"Authorization", "X-Instruqt-Sandbox-ID", "X-Instruqt-Track-ID", "X-Track-ID",
                             "X-Sandbox-Name-Prefix", "Idempotency-Key", "Content-Type"}) {
        EXPECT_NE(headers.find(name), std::string::npos) << name;
    }
    EXPECT_EQ(res["Access-Control-Max-Age"], "600");
    EXPECT_EQ(res["Vary"], "Origin");
    EXPECT_FALSE(res["X-Request-ID"].empty());
}

TEST_F(EdgeMiddlewareTest, UnlistedOriginGetsNoCorsHeadersAndAPreflightNeverReachesThe405) {
    build({"https://play.instruqt.com"}, false);
    const auto preflight = run_pipeline(
        pipeline, make_request(bhttp::verb::options, "/v1/sandboxes/7",
                               {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}}));
    EXPECT_EQ(preflight.result(), bhttp::status::no_content);
    const auto get =
        run_pipeline(pipeline, make_request(bhttp::verb::get, "/v1/sandboxes/7", {{"Origin", "https://evil.example"}}));
    EXPECT_EQ(get.result(), bhttp::status::ok);
    for (const auto* res : {&preflight, &get}) {
        for (const auto& field : *res) {
            EXPECT_FALSE(std::string(field.name_string()).starts_with("Access-Control-")) << field.name_string();
        }
    }
}

TEST_F(EdgeMiddlewareTest, ListedOriginSeesTheExposedHeadersOnAnswers) {
    build({"*"}, false);
    const auto res =
        run_pipeline(pipeline, make_request(bhttp::verb::get, "/v1/sandboxes/7", {{"Origin", "https://any.example"}}));
    EXPECT_EQ(res["Access-Control-Allow-Origin"], "*");
    EXPECT_NE(std::string(res["Access-Control-Expose-Headers"]).find("X-RateLimit-Remaining"), std::string::npos);
}

TEST_F(EdgeMiddlewareTest, RateLimitRefusesPastTheBurstPerClientAndExemptsHealth) {
    build({}, true);
    auto ask = [&](const std::string& who) {
        return run_pipeline(pipeline, make_request(bhttp::verb::get, "/v1/own/1",
                                                   {{"Authorization", "Bearer participant-token-123456"},
                                                    {"X-Instruqt-Sandbox-ID", who}}));
    };
    for (int i = 0; i < 3; ++i) {
        const auto res = ask("alice");
        ASSERT_EQ(res.result(), bhttp::status::ok) << i;
        EXPECT_EQ(res["X-RateLimit-Limit"], "3");
        EXPECT_EQ(res["X-RateLimit-Remaining"], std::to_string(2 - i));
    }
    const auto refused = ask("alice");
    EXPECT_EQ(refused.result(), bhttp::status::too_many_requests);
    EXPECT_EQ(refused["Retry-After"], "1");
    const auto body = nlohmann::json::parse(refused.body());
    EXPECT_EQ(body["error"]["code"], "RATE_LIMIT_EXCEEDED");
    EXPECT_EQ(body["error"]["retry_after"], 1);
    EXPECT_EQ(ask("bob").result(), bhttp::status::ok);  // another participant, another bucket
    for (int i = 0; i < 10; ++i) {
        const auto health = run_pipeline(pipeline, make_request(bhttp::verb::get, "/healthz"));
        EXPECT_EQ(health.result(), bhttp::status::ok);
        EXPECT_FALSE(health.count("X-RateLimit-Limit"));
    }
    clock.advance(std::chrono::seconds(1));  // one token back
    EXPECT_EQ(ask("alice").result(), bhttp::status::ok);
    // The refusal is labelled by the route it was aimed at.
    EXPECT_NE(metrics_text().find(R"(broker_request_latency_seconds_count{method="GET",endpoint="/v1/own/{id}",status="429"} 1)"),
              std::string::npos)
        << metrics_text();
}

TEST_F(EdgeMiddlewareTest, ANamedParticipantCountsOnlyWithAValidParticipantToken) {
    build({}, true);
    auto ask = [&](const std::string& authorization, const std::string& who) {
        return run_pipeline(pipeline,
                            make_request(bhttp::verb::get, "/v1/own/1",
                                         {{"Authorization", authorization}, {"X-Instruqt-Sandbox-ID", who}}),
                            "198.51.100.7");
    };
    // Without a token, with a wrong one, or with the admin token, naming a new participant on
    // every request does not buy a new bucket: the address's is spent.
    EXPECT_EQ(ask("", "victim-0").result(), bhttp::status::unauthorized);
    EXPECT_EQ(ask("Bearer wrong-token-0000000", "victim-1").result(), bhttp::status::unauthorized);
    EXPECT_EQ(ask("Bearer admin-token-1234567", "victim-2").result(), bhttp::status::ok);
    const auto refused = ask("Bearer wrong-token-0000000", "victim-3");
    EXPECT_EQ(refused.result(), bhttp::status::too_many_requests);
    EXPECT_EQ(refused["Retry-After"], "1");
    // The participants named were never charged: their own authenticated requests pass.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(ask("Bearer participant-token-123456", "victim-" + std::to_string(i)).result(),
                  bhttp::status::ok);
    }
}

TEST_F(EdgeMiddlewareTest, WithoutAParticipantTheClientAddressIsTheKeyAndUntrustedForwardingIsIgnored) {
    build({}, true);
    auto from = [&](const std::string& peer, const std::string& forwarded) {
        return run_pipeline(pipeline, make_request(bhttp::verb::get, "/v1/sandboxes/1", {{"X-Forwarded-For", forwarded}}),
                            peer);
    };
    // Rotating X-Forwarded-For from one untrusted peer does not buy new buckets.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(from("198.51.100.1", "10.0.0." + std::to_string(i)).result(), bhttp::status::ok);
    EXPECT_EQ(from("198.51.100.1", "10.0.0.99").result(), bhttp::status::too_many_requests);
    EXPECT_EQ(from("198.51.100.2", "10.0.0.99").result(), bhttp::status::ok);  // another client
    // A blank participant header is no participant.
    const auto blank = run_pipeline(
        pipeline, make_request(bhttp::verb::get, "/v1/sandboxes/1", {{"X-Instruqt-Sandbox-ID", " "}}), "198.51.100.1");
    EXPECT_EQ(blank.result(), bhttp::status::too_many_requests);
}

TEST_F(EdgeMiddlewareTest, RequestMetricsUseTemplatesAndOneLabelForUnmatchedPaths) {
    build({}, false);
    for (const char* path : {"/v1/sandboxes/1", "/v1/sandboxes/2", "/v1/sandboxes/3"}) {
        run_pipeline(pipeline, make_request(bhttp::verb::get, path));
    }
    run_pipeline(pipeline, make_request(bhttp::verb::get, "/no/such/path/123"));
    run_pipeline(pipeline, make_request(bhttp::verb::get, "/another/unknown"));
    const std::string text = metrics_text();
    EXPECT_NE(text.find(R"(broker_request_latency_seconds_count{method="GET",endpoint="/v1/sandboxes/{id}",status="200"} 3)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"(broker_request_latency_seconds_count{method="GET",endpoint="unmatched",status="404"} 2)"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("/no/such/path"), std::string::npos);
}

TEST_F(EdgeMiddlewareTest, OnlyTheDocsPageGetsTheRelaxedPolicy) {
    build({}, false);
    EXPECT_EQ(run_pipeline(pipeline, make_request(bhttp::verb::get, "/v1/docs"))["Content-Security-Policy"],
              "default-src 'none'; script-src 'sha256-x'");
    EXPECT_EQ(run_pipeline(pipeline, make_request(bhttp::verb::get, "/healthz"))["Content-Security-Policy"],
              std::string(SecurityHeaders::kDefaultCsp));
}

TEST_F(EdgeMiddlewareTest, AccessLogWritesOneJsonLineWithoutTheToken) {
    build({}, false);
    LogCapture capture(LogCapture::Format::json, {"participant-token-123456"});
    run_pipeline(pipeline, make_request(bhttp::verb::post, "/v1/allocate",
                                        {{"Authorization", "Bearer participant-token-123456"},
                                         {"X-Instruqt-Sandbox-ID", "lab-42"},
                                         {"X-Instruqt-Track-ID", "track-7"},
                                         {"X-Request-ID", "req-1"}}));

    const std::string text = capture.text();
    ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    const auto line = nlohmann::json::parse(text);
    EXPECT_EQ(line["level"], "WARNING");
    EXPECT_EQ(line["message"], "No sandboxes available");
    EXPECT_EQ(line["request_id"], "req-1");
    EXPECT_EQ(line["track_id"], "lab-42");
    EXPECT_EQ(line["instruqt_track_id"], "track-7");
    EXPECT_EQ(line["action"], "allocate");
    EXPECT_EQ(line["outcome"], "no_sandboxes");
    EXPECT_EQ(line["status"], 409);
    EXPECT_EQ(line["path"], "/v1/allocate");
    EXPECT_TRUE(line["latency_ms"].is_number());
    EXPECT_EQ(text.find("participant-token-123456"), std::string::npos);
}

// A 405 names the route it was aimed at, in its log line and its latency series, instead of
// "unmatched" (which stays for paths no route has).
TEST_F(EdgeMiddlewareTest, MethodNotAllowedIsLoggedAndCountedWithItsRoute) {
    pipeline.use(std::make_unique<RequestMetrics>(metrics, router));
    pipeline.use(std::make_unique<AccessLog>(clock, 1e9, Counter{}, &router));
    LogCapture capture(LogCapture::Format::json);
    EXPECT_EQ(run_pipeline(pipeline, make_request(bhttp::verb::delete_, "/v1/sandboxes/42")).result_int(),
              405u);
    EXPECT_EQ(run_pipeline(pipeline, make_request(bhttp::verb::get, "/v1/nowhere")).result_int(), 404u);

    std::istringstream lines(capture.text());
    std::string first, second;
    ASSERT_TRUE(std::getline(lines, first));
    ASSERT_TRUE(std::getline(lines, second));
    EXPECT_EQ(nlohmann::json::parse(first)["path"], "/v1/sandboxes/{id}") << first;
    EXPECT_EQ(nlohmann::json::parse(first)["status"], 405);
    EXPECT_EQ(nlohmann::json::parse(second)["path"], "unmatched") << second;
    EXPECT_NE(
        metrics_text().find(
            R"(broker_request_latency_seconds_count{method="DELETE",endpoint="/v1/sandboxes/{id}",status="405"} 1)"),
        std::string::npos)
        << metrics_text();
    EXPECT_NE(
        metrics_text().find(
            R"(broker_request_latency_seconds_count{method="GET",endpoint="unmatched",status="404"} 1)"),
        std::string::npos)
        << metrics_text();
}

// A flood of anonymous refusals writes a bounded number of lines: one second's worth at
// once, then the sustained rate; the next line written says how many were left out, and the
// counter has every one of them. Requests are still counted by the request metrics.
TEST_F(EdgeMiddlewareTest, AccessLogLinesOfAnonymousRefusalsAreRateLimitedAndCounted) {
    auto* limited = new AccessLog(clock, 5, registry.counter("broker_test_suppressed_total", "left out"));
    pipeline.use(std::unique_ptr<Middleware>(limited));
    LogCapture capture(LogCapture::Format::json);
    for (int i = 0; i < 100; ++i) run_pipeline(pipeline, make_request(bhttp::verb::get, "/no/such/path"));
    const auto lines_of = [&] {
        const std::string text = capture.text();
        return std::count(text.begin(), text.end(), '\n');
    };
    EXPECT_EQ(lines_of(), 5);
    // Served requests are not refusals: always logged.
    run_pipeline(pipeline, make_request(bhttp::verb::get, "/healthz"));
    EXPECT_EQ(lines_of(), 6);
    clock.advance(std::chrono::seconds(1));
    run_pipeline(pipeline, make_request(bhttp::verb::get, "/no/such/path"));
    EXPECT_EQ(lines_of(), 7);

    std::string last = capture.text();
    last.pop_back();
    last = last.substr(last.rfind('\n') + 1);
    EXPECT_EQ(nlohmann::json::parse(last)["suppressed"], 95) << last;
    EXPECT_NE(metrics_text().find("broker_test_suppressed_total 95"), std::string::npos) << metrics_text();
}

TEST(AccessLogRefusals, ABudgetOfZeroLetsNoLineThrough) {
    ManualClock clock;
    LineBudget none(clock, 0);
    std::uint64_t suppressed = 0;
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(none.take(suppressed));
        clock.advance(std::chrono::seconds(5));
    }
    LineBudget fractional(clock, 0.5);  // one line now, the next after two seconds
    EXPECT_TRUE(fractional.take(suppressed));
    EXPECT_FALSE(fractional.take(suppressed));
    clock.advance(std::chrono::seconds(2));
    EXPECT_TRUE(fractional.take(suppressed));
    EXPECT_EQ(suppressed, 1u);
}

TEST(AccessLogRefusals, OnlyAnonymousClientErrorsAndUnroutedRequestsCount) {
    const Request request;
    RequestContext ctx(request);
    Route route{bhttp::verb::get, "/v1/x", Access::participant, {}, {}};
    EXPECT_TRUE(is_anonymous_refusal(ctx, 404));
    EXPECT_TRUE(is_anonymous_refusal(ctx, 503)) << "a connection turned away has no route";
    ctx.route = &route;
    EXPECT_TRUE(is_anonymous_refusal(ctx, 401));
    EXPECT_TRUE(is_anonymous_refusal(ctx, 429));
    EXPECT_FALSE(is_anonymous_refusal(ctx, 200));
    EXPECT_FALSE(is_anonymous_refusal(ctx, 503));
    ctx.role = Role::participant;
    EXPECT_FALSE(is_anonymous_refusal(ctx, 409)) << "pool-empty warnings are never sampled";
    EXPECT_FALSE(is_anonymous_refusal(ctx, 403));
}

// Ids the handlers refuse never reach a line as sent: a forged line, a terminal escape or a
// megabyte of them becomes "(invalid)".
TEST_F(EdgeMiddlewareTest, AccessLogWritesMalformedIdsAsInvalid) {
    build({}, false);
    LogCapture capture(LogCapture::Format::json);
    run_pipeline(pipeline, make_request(bhttp::verb::post, "/v1/allocate",
                                        {{"X-Instruqt-Sandbox-ID", "lab\x1b[31m-escape"},
                                         {"X-Instruqt-Track-ID", "caf\xff\xfe"},
                                         {"X-Track-ID", std::string(300, 'a')}}));
    const auto line = nlohmann::json::parse(capture.text());
    EXPECT_EQ(line["track_id"], "(invalid)");
    EXPECT_EQ(line["instruqt_track_id"], "(invalid)");
    EXPECT_EQ(capture.text().find("\\u001b"), std::string::npos) << capture.text();
}

}  // namespace
}  // namespace broker
