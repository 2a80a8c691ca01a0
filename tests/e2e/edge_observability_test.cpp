// Observability of the real binary over HTTP: /metrics counts allocations and labels requests
// by route template, the OpenAPI document and docs page are served, and the structured log
// lines on stdout parse, carry the request's fields and never the token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

Environment logging_env() {
    Environment env = serving_env();
    env["LOG_LEVEL"] = "info";
    env["LOG_FORMAT"] = "json";
    env["METRICS_POOL_CACHE_SEC"] = "0";  // every scrape counts anew, so the test sees its own allocations
    return env;
}

class EdgeObservabilityTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { broker_ = std::make_unique<BrokerInstance>(sandboxes("obs-", 10, 700000), logging_env()); }
    static void TearDownTestSuite() { broker_.reset(); }

    // stdout lines after "listening on", parsed; waits until `want` holds in one of them.
    static std::vector<nlohmann::json> log_lines_until(const std::function<bool(const nlohmann::json&)>& want) {
        std::vector<nlohmann::json> lines;
        for (int attempt = 0; attempt < 50; ++attempt) {  // the log is written in batches: 5 s at most
            lines.clear();
            std::istringstream in(broker_->process().out());
            bool found = false;
            for (std::string line; std::getline(in, line);) {
                if (line.rfind("listening on", 0) == 0) continue;
                auto parsed = nlohmann::json::parse(line, nullptr, false);
                EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
                if (parsed.is_discarded()) continue;
                found = found || want(parsed);
                lines.push_back(std::move(parsed));
            }
            if (found) return lines;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ADD_FAILURE() << "the expected log line never came; stdout:\n" << broker_->process().out();
        return lines;
    }

    static inline std::unique_ptr<BrokerInstance> broker_;
    HttpClient client_ = broker_->client();
};

TEST_F(EdgeObservabilityTest, MetricsCountAllocationsAndLabelByRouteTemplate) {
    std::string first_id;
    for (int i = 0; i < 3; ++i) {
        const auto res = allocate(client_, unique_participant("metrics"));
        ASSERT_EQ(res.status, 201) << res.body;
        if (first_id.empty()) first_id = res.json["sandbox_id"];
    }
    ASSERT_EQ(get_sandbox(client_, first_id, "someone-else").status, 403);

    const auto res = client_.get("/metrics");
    ASSERT_EQ(res.status, 200);
    EXPECT_NE(res.header("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
    EXPECT_GE(metric_sample(res.body, R"(broker_allocate_total{outcome="success"})"), 3) << res.body;
    EXPECT_GE(metric_sample(res.body, R"(broker_allocation_latency_seconds_count{outcome="success"})"), 3);
    EXPECT_GE(metric_sample(res.body, R"(broker_request_latency_seconds_count{method="POST",endpoint="/v1/allocate",status="201"})"), 3);
    EXPECT_GE(metric_sample(res.body, R"(broker_request_latency_seconds_count{method="GET",endpoint="/v1/sandboxes/{id}",status="403"})"), 1);
    EXPECT_EQ(res.body.find("/v1/sandboxes/" + first_id), std::string::npos) << "a raw path became a label";
    EXPECT_GE(metric_sample(res.body, "broker_pool_allocated"), 3);
    EXPECT_GE(metric_sample(res.body, "broker_pool_total"), 10);
    EXPECT_GT(metric_sample(res.body, "process_resident_memory_bytes"), 0);
}

TEST_F(EdgeObservabilityTest, OpenApiDocumentListsTheParticipantPathsAndTheDocsPageRendersIt) {
    const auto doc = client_.get("/v1/openapi.json");
    ASSERT_EQ(doc.status, 200);
    ASSERT_TRUE(doc.json.is_object()) << doc.body;
    EXPECT_TRUE(doc.json["openapi"].get<std::string>().starts_with("3."));
    const auto& paths = doc.json["paths"];
    EXPECT_TRUE(paths["/v1/allocate"].contains("post"));
    EXPECT_TRUE(paths["/v1/sandboxes/{id}"].contains("get"));
    EXPECT_TRUE(paths["/v1/sandboxes/{id}/mark-for-deletion"].contains("post"));
    EXPECT_TRUE(paths["/metrics"].contains("get"));
    EXPECT_TRUE(paths["/v1/admin/sandboxes"].contains("get"));
    EXPECT_TRUE(paths["/v1/admin/stats"].contains("get"));
    EXPECT_TRUE(paths["/v1/admin/jobs/{name}/pause"].contains("post"));

    const auto page = client_.get("/v1/docs");
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.header("Content-Type").find("text/html"), std::string::npos);
    EXPECT_NE(page.body.find("openapi.json"), std::string::npos);
    const std::string csp = page.header("Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'sha256-"), std::string::npos) << csp;
    EXPECT_EQ(client_.get("/healthz").header("Content-Security-Policy"), "default-src 'none'; frame-ancestors 'none'");
    // Start-up compared the served routes with the document and found nothing to report.
    EXPECT_EQ(broker_->process().out().find("OpenAPI document out of date"), std::string::npos)
        << broker_->process().out();
}

TEST_F(EdgeObservabilityTest, LogLinesAreJsonWithTheRequestFieldsAndNeverTheToken) {
    const std::string participant = unique_participant("logged");
    const auto res = client_.post("/v1/allocate", participant_headers(participant, {{"X-Request-ID", "edge-log-test-1"},
                                                                                    {"X-Instruqt-Track-ID", "track-x"}}));
    ASSERT_EQ(res.status, 201) << res.body;
    const auto lines = log_lines_until([](const nlohmann::json& l) { return l.value("request_id", "") == "edge-log-test-1"; });
    for (const auto& line : lines) {
        if (line.value("request_id", "") != "edge-log-test-1") continue;
        EXPECT_EQ(line["level"], "INFO");
        EXPECT_TRUE(line["timestamp"].is_string());
        EXPECT_EQ(line["track_id"], participant);
        EXPECT_EQ(line["instruqt_track_id"], "track-x");
        EXPECT_EQ(line["sandbox_id"], res.json["sandbox_id"]);
        EXPECT_EQ(line["action"], "allocate");
        EXPECT_EQ(line["outcome"], "success");
        EXPECT_EQ(line["status"], 201);
        EXPECT_TRUE(line["latency_ms"].is_number());
    }
    EXPECT_EQ(broker_->process().out().find(kApiToken), std::string::npos);
}

TEST(EdgeObservabilityPoolEmpty, PoolEmptyIsLoggedAsNoSandboxesAvailable) {
    BrokerInstance broker(sandboxes("tiny-", 1, 710000), logging_env());
    auto client = broker.client();
    ASSERT_EQ(allocate(client, unique_participant("first")).status, 201);
    const auto refused = allocate(client, unique_participant("second"));
    ASSERT_EQ(refused.status, 409);
    const auto metrics = client.get("/metrics");
    EXPECT_GE(metric_sample(metrics.body, R"(broker_allocate_total{outcome="no_sandboxes"})"), 1);
    std::string out;
    for (int i = 0; i < 50 && out.find("No sandboxes available") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        out = broker.process().out();
    }
    EXPECT_NE(out.find("\"message\":\"No sandboxes available\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"level\":\"WARNING\""), std::string::npos);
}

}  // namespace
}  // namespace broker::e2e
