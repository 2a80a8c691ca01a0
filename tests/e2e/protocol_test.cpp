// The HTTP surface around the participant operations, against the real binary: tokens,
// participant headers, request ids, the error envelope, security headers, the operations
// endpoints, unknown routes and oversized bodies.
#include <gtest/gtest.h>

#include <set>

#include "e2e/broker_fixture.hpp"
#include "http/asio.hpp"

namespace broker::e2e {
namespace {

class ProtocolTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        broker_ = std::make_unique<BrokerInstance>(sandboxes("proto-", 20, 500000));
    }
    static void TearDownTestSuite() { broker_.reset(); }

    static inline std::unique_ptr<BrokerInstance> broker_;
    HttpClient client_ = broker_->client();
};

// Both envelopes of §3: `error` for new clients, `detail` for scripts written for the original.
void expect_error_envelope(const HttpResponse& response, int status, const std::string& code) {
    EXPECT_EQ(response.status, status) << response.body;
    const auto& body = response.json;
    ASSERT_TRUE(body.is_object() && body.contains("error") && body.contains("detail")) << response.body;
    EXPECT_EQ(body["error"]["code"], code);
    EXPECT_TRUE(body["error"]["message"].is_string() && !body["error"]["message"].empty()) << response.body;
    EXPECT_EQ(body["error"]["request_id"], response.header("X-Request-ID"));
    EXPECT_EQ(body["detail"]["code"], body["error"]["code"]);
    EXPECT_EQ(body["detail"]["message"], body["error"]["message"]);
    EXPECT_NE(response.header("Content-Type").find("application/json"), std::string::npos);
}

TEST_F(ProtocolTest, MissingTokenIs401) {
    auto response = client_.post("/v1/allocate", {{"X-Instruqt-Sandbox-ID", unique_participant("anon")}});
    expect_error_envelope(response, 401, "UNAUTHORIZED");
}

TEST_F(ProtocolTest, WrongTokenIs401) {
    auto response = client_.post("/v1/allocate", {{"Authorization", "Bearer " + kApiToken + "x"},
                                                  {"X-Instruqt-Sandbox-ID", unique_participant("wrong")}});
    expect_error_envelope(response, 401, "UNAUTHORIZED");
}

TEST_F(ProtocolTest, RightTokenUnderBasicSchemeIs401) {
    auto response = client_.post("/v1/allocate", {{"Authorization", "Basic " + kApiToken},
                                                  {"X-Instruqt-Sandbox-ID", unique_participant("basic")}});
    expect_error_envelope(response, 401, "UNAUTHORIZED");
}

TEST_F(ProtocolTest, TokenIsCheckedOnSandboxRoutesToo) {
    auto get = client_.get("/v1/sandboxes/500000", {{"X-Instruqt-Sandbox-ID", "someone"}});
    EXPECT_EQ(get.status, 401) << get.body;
    auto mark = client_.post("/v1/sandboxes/500000/mark-for-deletion",
                             {{"Authorization", "Bearer nope"}, {"X-Instruqt-Sandbox-ID", "someone"}});
    EXPECT_EQ(mark.status, 401) << mark.body;
}

TEST_F(ProtocolTest, MissingParticipantHeadersIs400) {
    auto response = client_.post("/v1/allocate", {{"Authorization", "Bearer " + kApiToken}});
    expect_error_envelope(response, 400, "MISSING_SANDBOX_ID");
}

TEST_F(ProtocolTest, ParticipantIdThatIsNotUtf8Is400) {
    auto response = client_.post("/v1/allocate", {{"Authorization", "Bearer " + kApiToken},
                                                  {"X-Instruqt-Sandbox-ID", "lab-\xC3\x28"}});
    expect_error_envelope(response, 400, "INVALID_REQUEST");
}

TEST_F(ProtocolTest, EmptyParticipantHeaderIs400) {
    auto instruqt = client_.post("/v1/allocate",
                                 {{"Authorization", "Bearer " + kApiToken}, {"X-Instruqt-Sandbox-ID", ""}});
    expect_error_envelope(instruqt, 400, "MISSING_SANDBOX_ID");
    auto legacy =
        client_.post("/v1/allocate", {{"Authorization", "Bearer " + kApiToken}, {"X-Track-ID", ""}});
    expect_error_envelope(legacy, 400, "MISSING_SANDBOX_ID");
}

TEST_F(ProtocolTest, EverySuccessAndErrorCarriesARequestIdAndSecurityHeaders) {
    std::vector<HttpResponse> responses{
        allocate(client_, unique_participant("rid")),
        client_.post("/v1/allocate"),
        client_.get("/healthz"),
        client_.get("/v1/no-such-route", participant_headers("rid")),
    };
    std::set<std::string> ids;
    for (const auto& response : responses) {
        EXPECT_FALSE(response.header("X-Request-ID").empty()) << response.status << " " << response.body;
        EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff") << response.status;
        EXPECT_TRUE(response.has_header("X-Frame-Options")) << response.status;
        ids.insert(response.header("X-Request-ID"));
    }
    EXPECT_EQ(ids.size(), responses.size()) << "request ids must differ";
}

TEST_F(ProtocolTest, ClientRequestIdIsEchoed) {
    auto success = allocate(client_, unique_participant("echo"), {{"X-Request-ID", "e2e-echo-success-1"}});
    EXPECT_EQ(success.status, 201) << success.body;
    EXPECT_EQ(success.header("X-Request-ID"), "e2e-echo-success-1");

    auto failure = client_.post("/v1/allocate", {{"X-Request-ID", "e2e-echo-failure-2"}});
    EXPECT_EQ(failure.status, 401) << failure.body;
    EXPECT_EQ(failure.header("X-Request-ID"), "e2e-echo-failure-2");
    EXPECT_EQ(failure.json["error"]["request_id"], "e2e-echo-failure-2");
}

TEST_F(ProtocolTest, HealthzAnswers200) {
    auto response = client_.get("/healthz");
    EXPECT_EQ(response.status, 200) << response.body;
}

TEST_F(ProtocolTest, ReadyzAnswers200WhenTheStoreIsReachable) {
    auto response = client_.get("/readyz");
    EXPECT_EQ(response.status, 200) << response.body;
}

TEST_F(ProtocolTest, RootNamesTheServiceAndItsVersion) {
    auto response = client_.get("/");
    ASSERT_EQ(response.status, 200) << response.body;
    ASSERT_TRUE(response.json.is_object()) << response.body;
    EXPECT_EQ(response.json["name"], "sandbox-broker");
    EXPECT_TRUE(response.json["version"].is_string() && !response.json["version"].empty()) << response.body;
}

TEST_F(ProtocolTest, UnknownRouteIs404Json) {
    auto response = client_.get("/v1/no-such-route", participant_headers(unique_participant("lost")));
    expect_error_envelope(response, 404, "NOT_FOUND");
}

TEST_F(ProtocolTest, OversizedBodyIs413AndTheServerKeepsServing) {
    std::string body = "{\"padding\":\"" + std::string(65 * 1024, 'x') + "\"}";
    auto response = client_.post("/v1/allocate", participant_headers(unique_participant("big")), body);
    expect_error_envelope(response, 413, "PAYLOAD_TOO_LARGE");

    auto fresh = broker_->client();
    EXPECT_EQ(fresh.get("/healthz").status, 200);
    EXPECT_EQ(allocate(fresh, unique_participant("after-big")).status, 201);
}

TEST_F(ProtocolTest, KeepAliveConnectionServesManyRequests) {
    for (int i = 0; i < 50; ++i) {
        ASSERT_EQ(client_.get("/healthz").status, 200);
        ASSERT_TRUE(client_.connected()) << "the server closed a keep-alive connection after request " << i;
    }
}

TEST_F(ProtocolTest, WrongMethodOnAKnownPathIs405) {
    auto response = client_.get("/v1/allocate", participant_headers(unique_participant("method")));
    expect_error_envelope(response, 405, "METHOD_NOT_ALLOWED");
}

TEST_F(ProtocolTest, OversizedHeadersAre431AndTheServerKeepsServing) {
    auto response = client_.post(
        "/v1/allocate",
        participant_headers(unique_participant("fat"), {{"X-Padding", std::string(20 * 1024, 'h')}}));
    expect_error_envelope(response, 431, "HEADERS_TOO_LARGE");

    auto fresh = broker_->client();
    EXPECT_EQ(fresh.get("/healthz").status, 200);
}

TEST_F(ProtocolTest, HalfSentRequestDoesNotHoldUpOtherConnections) {
    // A client that stops in the middle of its headers must cost the server a waiting
    // read, not a thread the other participants need.
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket stalled(io);
    stalled.connect({boost::asio::ip::make_address(broker_->process().host()), broker_->process().port()});
    boost::asio::write(stalled,
                       boost::asio::buffer(std::string("POST /v1/allocate HTTP/1.1\r\nHost: x\r\n")));

    HttpClient quick(broker_->process().host(), broker_->process().port(), std::chrono::seconds(2));
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(allocate(quick, unique_participant("not-stalled")).status, 201);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
}

}  // namespace
}  // namespace broker::e2e
