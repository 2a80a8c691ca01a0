// Threat: a page on another site calling the broker from a participant's browser and
// reading the answers (a sandbox's credentials ride in them). Defence: http/cors_policy
// echoes an Origin only when it is exactly one listed in CORS_ALLOWED_ORIGINS; look-alikes
// (a longer host, another scheme or port, a prefix, "null") get no CORS header at all,
// neither on preflights nor on answers.
#include <gtest/gtest.h>
#include <strings.h>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

bool has_cors_header(const HttpResponse& res) {
    for (const auto& [name, value] : res.headers) {
        if (name.size() >= 15 && strncasecmp(name.c_str(), "Access-Control-", 15) == 0) return true;
    }
    return false;
}

TEST(Cors, AnUnlistedOriginIsNeverReflected) {
    Environment env = serving_env();
    env["CORS_ALLOWED_ORIGINS"] = "https://play.instruqt.com";
    BrokerInstance broker(sandboxes("cors-sec-", 3, 791000), env);
    auto client = broker.client();

    for (const std::string origin :
         {"https://evil.example", "https://play.instruqt.com.evil.example", "https://evilplay.instruqt.com",
          "http://play.instruqt.com", "https://play.instruqt.com:8443", "https://play.instruqt.co", "null",
          "https://PLAY.instruqt.com.evil.example", "https://play.instruqt.com/", "*"}) {
        const auto preflight = client.request(
            "OPTIONS", "/v1/allocate", {{"Origin", origin}, {"Access-Control-Request-Method", "POST"}});
        EXPECT_FALSE(has_cors_header(preflight)) << origin;
        const auto answer = client.post(
            "/v1/allocate", participant_headers(unique_participant("cors"), {{"Origin", origin}}));
        EXPECT_FALSE(has_cors_header(answer)) << origin;
        EXPECT_EQ(answer.body.find(origin == "*" ? "\"*\"" : origin), std::string::npos);
    }
    // The control: the listed origin itself is allowed.
    const auto allowed = client.get("/healthz", {{"Origin", "https://play.instruqt.com"}});
    EXPECT_EQ(allowed.header("Access-Control-Allow-Origin"), "https://play.instruqt.com");
}

}  // namespace
}  // namespace broker::e2e
