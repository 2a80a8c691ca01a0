// The libcurl wrapper against a real local server: methods, headers, bodies, timeouts,
// refused connections, and redaction of credentials.
#include <gtest/gtest.h>

#include "runtime/http_client.hpp"
#include "unit/support/scripted_http_server.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using testing::ScriptedHttpServer;
using testing::ScriptedResponse;

HttpClient short_client() {
    return HttpClient({.connect_timeout = milliseconds(200), .total_timeout = milliseconds(300)});
}

TEST(HttpClient, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
    ScriptedHttpServer server;
    ScriptedResponse answer = ScriptedResponse::json(201, R"({"ok":true})");
    answer.headers = {{"X-Thing", "42"}};
    server.script("POST", "/things", {answer});

    const auto result = short_client().perform({"POST",
                                                server.base_url() + "/things?x=1",
                                                {{"Authorization", "Token abc"}, {"X-Custom", "v"}},
                                                "payload"});

    ASSERT_TRUE(result.ok()) << result.error->message;
    EXPECT_EQ(result.response->status, 201);
    EXPECT_EQ(result.response->body, R"({"ok":true})");
    EXPECT_EQ(result.response->header("x-thing"), "42");
    EXPECT_EQ(result.response->header("Content-Type"), "application/json");
    EXPECT_EQ(result.response->header("Missing"), std::nullopt);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].target, "/things?x=1");
    EXPECT_EQ(requests[0].header("Authorization"), "Token abc");
    EXPECT_EQ(requests[0].header("X-Custom"), "v");
    EXPECT_EQ(requests[0].body, "payload");
}

TEST(HttpClient, DeleteAndGetUseTheirMethods) {
    ScriptedHttpServer server;
    server.script("DELETE", "/a", {ScriptedResponse::json(204, "")});
    server.script("GET", "/b", {ScriptedResponse::json(200, "[]")});
    const auto client = short_client();
    EXPECT_EQ(client.perform({"DELETE", server.base_url() + "/a", {}, ""}).response->status, 204);
    EXPECT_EQ(client.perform({"GET", server.base_url() + "/b", {}, ""}).response->body, "[]");
    EXPECT_EQ(server.count("DELETE", "/a"), 1u);
    EXPECT_EQ(server.count("GET", "/b"), 1u);
}

TEST(HttpClient, ErrorStatusesAreAnswersNotErrors) {
    ScriptedHttpServer server;
    server.script("GET", "/", {ScriptedResponse::html(500, "<html>oops</html>")});
    const auto result = short_client().perform({"GET", server.base_url() + "/", {}, ""});
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.response->status, 500);
    EXPECT_EQ(result.response->body, "<html>oops</html>");
}

TEST(HttpClient, SlowAnswerIsATimeout) {
    ScriptedHttpServer server;
    ScriptedResponse slow = ScriptedResponse::json(200, "{}");
    slow.delay = milliseconds(1500);
    server.script("GET", "/slow", {slow});
    const auto result = short_client().perform({"GET", server.base_url() + "/slow", {}, ""});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error->kind, TransportErrorKind::timeout);
    EXPECT_GE(result.elapsed, milliseconds(250));
    EXPECT_LT(result.elapsed, milliseconds(1200));
}

TEST(HttpClient, RefusedConnectionIsAConnectError) {
    unsigned short port = 0;
    {
        ScriptedHttpServer server;  // take a free port, then close it
        port = server.port();
    }
    const auto result =
        short_client().perform({"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, ""});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error->kind, TransportErrorKind::connect);
    EXPECT_FALSE(result.error->message.empty());
}

TEST(HttpClient, OversizedBodyIsCutOff) {
    ScriptedHttpServer server;
    server.script("GET", "/big", {ScriptedResponse::json(200, std::string(10'000, 'x'))});
    HttpClient client(
        {.connect_timeout = milliseconds(200), .total_timeout = milliseconds(300), .max_body_bytes = 1000});
    const auto result = client.perform({"GET", server.base_url() + "/big", {}, ""});
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error->message.find("larger than 1000"), std::string::npos);
}

TEST(HttpClient, DescribeRedactsCredentials) {
    const HttpRequest request{
        "GET",
        "https://csp.example/v2/current_user/accounts",
        {{"Authorization", "Token s3cr3t"}, {"cookie", "sid=abc"}, {"Accept", "application/json"}},
        R"({"password":"hunter2"})"};
    const auto text = describe_for_log(request);
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(text.find("sid=abc"), std::string::npos);
    EXPECT_EQ(text.find("hunter2"), std::string::npos);  // bodies are never described
    EXPECT_NE(text.find("Authorization: <redacted>"), std::string::npos);
    EXPECT_NE(text.find("Accept: application/json"), std::string::npos);
    EXPECT_NE(text.find("GET https://csp.example/v2/current_user/accounts"), std::string::npos);
}

TEST(SafeLastSegment, TakesTheUuidAndRefusesPathTricks) {
    EXPECT_EQ(safe_last_segment("identity/accounts/3f1c-77aa_9"), "3f1c-77aa_9");
    EXPECT_EQ(safe_last_segment("identity/accounts/abc/"), "");
    EXPECT_EQ(safe_last_segment("abc"), "abc");
    EXPECT_EQ(safe_last_segment("identity/accounts/"), "");
    EXPECT_EQ(safe_last_segment("identity/accounts/.."), "");
    EXPECT_EQ(safe_last_segment("identity/../accounts/abc"), "");
    EXPECT_EQ(safe_last_segment("identity/accounts/a?b=c"), "");
    EXPECT_EQ(safe_last_segment("identity/accounts/a%2Fb"), "");
}

}  // namespace
}  // namespace broker
