// Threat: filling the disk (and the log pipeline's bill) for free. Each refused anonymous
// request used to write a ~500-byte access-log line, so a client without any token could
// make the broker write as fast as it could send. Defence: the access log rate-limits lines
// of refused anonymous requests (ACCESS_LOG_REFUSED_PER_SEC); the next such line written says how
// many were left out, broker_access_log_suppressed_total counts them, and the request
// metrics still count every request.
#include <gtest/gtest.h>

#include <regex>

#include "e2e/broker_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

long count_of(const std::string& text, const std::string& needle) {
    long n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

TEST(LogFlood, LinesOfRefusedAnonymousRequestsAreBoundedAndCounted) {
    Environment env = serving_env();
    env["LOG_LEVEL"] = "info";
    env["ACCESS_LOG_REFUSED_PER_SEC"] = "5";
    BrokerInstance broker(sandboxes("flood-", 3, 795000), env);
    auto client = broker.client();

    constexpr int kRequests = 300;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < kRequests; ++i) {
        ASSERT_EQ(client.post("/v1/allocate", {{"X-Instruqt-Sandbox-ID", "flood"}}).status, 401);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // A served request is always logged, and carries the count of the lines left out.
    const std::string out = logged_so_far(broker);
    const auto metrics = client.get("/metrics").body;

    const long lines_401 = count_of(out, "\"status\":401");
    // One second's worth at once, then 5 a second.
    EXPECT_LE(lines_401, static_cast<long>(5 + 5 * seconds + 2)) << "over " << seconds << " s";
    EXPECT_GE(lines_401, 5);
    const double suppressed = metric_sample(metrics, "broker_access_log_suppressed_total");
    EXPECT_EQ(static_cast<long>(suppressed) + lines_401, kRequests) << metrics.substr(0, 500);
    // Every request is still counted by the request metrics.
    EXPECT_EQ(
        metric_sample(
            metrics,
            R"(broker_request_latency_seconds_count{method="POST",endpoint="/v1/allocate",status="401"})"),
        kRequests);
}

TEST(LogFlood, TheNextLineWrittenSaysHowManyWereLeftOut) {
    Environment env = serving_env();
    env["LOG_LEVEL"] = "info";
    env["ACCESS_LOG_REFUSED_PER_SEC"] = "1";
    TestClock clock;
    BrokerInstance broker(sandboxes("flood2-", 3, 796000), env, clock.flags());
    auto client = broker.client();
    for (int i = 0; i < 20; ++i) client.get("/no/such/path");
    clock.advance(std::chrono::seconds(1));  // the budget refills one line
    client.get("/no/such/path");
    const std::string out = logged_so_far(broker);
    EXPECT_TRUE(std::regex_search(out, std::regex(R"("suppressed":1[89][,}])"))) << out;
}

}  // namespace
}  // namespace broker::e2e
