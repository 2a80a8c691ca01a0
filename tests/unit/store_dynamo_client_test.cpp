// The DynamoDB client against a local server: SigV4 headers as libcurl makes them (checked
// against AWS's published test vector), the JSON protocol's headers, errors as values,
// bounded retries of throttling and 5xx, and failures as StoreUnavailable.
#include <gtest/gtest.h>

#include <map>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/dynamo_options.hpp"
#include "store/dynamodb/signed_http.hpp"
#include "store/dynamodb/static_credentials.hpp"
#include "unit/support/scripted_http_server.hpp"
#include "unit/support/env_of.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using testing::ScriptedHttpServer;
using testing::ScriptedResponse;

std::shared_ptr<AwsCredentialProvider> credentials(std::string token = "") {
    return std::make_shared<StaticAwsCredentials>(AwsCredentials{
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", std::move(token), std::nullopt});
}

ddb::DynamoClient client_of(const ScriptedHttpServer& server, std::string token = "", int attempts = 3) {
    ddb::DynamoClientOptions options;
    options.endpoint = server.base_url();
    options.region = "eu-west-1";
    options.max_attempts = attempts;
    options.backoff_base = milliseconds(1);
    options.backoff_cap = milliseconds(5);
    options.http.connect_timeout = milliseconds(500);
    options.http.total_timeout = milliseconds(2000);
    return ddb::DynamoClient(options, credentials(std::move(token)));
}

ScriptedResponse error(int status, const std::string& type, const std::string& message = "m") {
    return ScriptedResponse::json(status, R"({"__type":"com.amazonaws.dynamodb.v20120810#)" + type +
                                              R"(","message":")" + message + "\"}");
}

// AWS's SigV4 test suite, "get-vanilla": GET / on example.amazonaws.com at 20150830T123600Z,
// region us-east-1, service "service", the suite's example keys.
TEST(SignedHttp, LibcurlSignsTheAwsTestVector) {
    ScriptedHttpServer server;
    server.script("GET", "/", {ScriptedResponse::json(200, "{}")});
    ddb::SignedRequest request;
    request.method = "GET";
    request.url = "http://example.amazonaws.com/";
    request.connect_to = "example.amazonaws.com:80:127.0.0.1:" + std::to_string(server.port());
    request.headers = {"X-Amz-Date: 20150830T123600Z"};
    request.region = "us-east-1";
    request.service = "service";
    request.credentials = credentials()->credentials();
    const auto result = ddb::SignedHttp().perform(request);
    ASSERT_TRUE(result.response) << result.transport_error;
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].header("Host"), "example.amazonaws.com");
    EXPECT_EQ(requests[0].header("X-Amz-Date"), "20150830T123600Z");
    EXPECT_EQ(requests[0].header("Authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date, "
              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(DynamoClient, SpeaksTheJsonProtocolSigned) {
    ScriptedHttpServer server;
    server.script("POST", "/", {ScriptedResponse::json(200, R"({"Item":{"PK":{"S":"x"}}})")});
    const auto answer = client_of(server).must("GetItem", {{"TableName", "SandboxPool"}});
    EXPECT_EQ(answer["Item"]["PK"]["S"], "x");
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    const auto& r = requests[0];
    EXPECT_EQ(r.header("X-Amz-Target"), "DynamoDB_20120810.GetItem");
    EXPECT_EQ(r.header("Content-Type"), "application/x-amz-json-1.0");
    EXPECT_EQ(nlohmann::json::parse(r.body), (nlohmann::json{{"TableName", "SandboxPool"}}));
    const std::string auth = r.header("Authorization");
    EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << auth;
    EXPECT_NE(auth.find("/eu-west-1/dynamodb/aws4_request"), std::string::npos) << auth;
    EXPECT_NE(auth.find("x-amz-target"), std::string::npos) << "the target is signed: " << auth;
    EXPECT_NE(auth.find("Signature="), std::string::npos);
    EXPECT_EQ(auth.find("wJalrXUtnFEMI"), std::string::npos) << "the secret never travels";
    EXPECT_FALSE(r.header("X-Amz-Date").empty());
    EXPECT_TRUE(r.header("X-Amz-Security-Token").empty());
}

TEST(DynamoClient, SendsTheSessionTokenOfTemporaryCredentials) {
    ScriptedHttpServer server;
    server.script("POST", "/", {ScriptedResponse::json(200, "{}")});
    client_of(server, "session-token-1").must("DescribeTable", {{"TableName", "t"}});
    EXPECT_EQ(server.requests().at(0).header("X-Amz-Security-Token"), "session-token-1");
}

TEST(DynamoClient, DomainErrorsAreValues) {
    ScriptedHttpServer server;
    server.script("POST", "/",
                  {error(400, "ConditionalCheckFailedException", "The conditional request failed")});
    const auto reply = client_of(server).call("UpdateItem", nlohmann::json::object());
    EXPECT_FALSE(reply.ok());
    EXPECT_TRUE(reply.is("ConditionalCheckFailedException"));
    EXPECT_EQ(reply.message, "The conditional request failed");
    EXPECT_EQ(server.requests().size(), 1u) << "not retried";
    EXPECT_THROW(client_of(server).must("UpdateItem", nlohmann::json::object()), StoreUnavailable);
}

TEST(DynamoClient, ThrottlingAndServerErrorsAreRetriedThenAnswered) {
    ScriptedHttpServer server;
    server.script("POST", "/",
                  {error(400, "ProvisionedThroughputExceededException"), error(400, "ThrottlingException"),
                   error(500, "InternalServerError"), ScriptedResponse::json(200, R"({"Count":3})")});
    const auto answer = client_of(server, "", 4).must("Query", nlohmann::json::object());
    EXPECT_EQ(answer["Count"], 3);
    EXPECT_EQ(server.requests().size(), 4u);
}

// A 5xx may come after the request was applied: a failed condition on the retry says so.
// Throttling refuses a request, so a retry after it is no such case.
TEST(DynamoClient, AFailedConditionAfterAServerErrorMayBeTheCallsOwnWrite) {
    ScriptedHttpServer server;
    server.script("POST", "/",
                  {error(500, "InternalServerError"), error(400, "ConditionalCheckFailedException")});
    const auto after_error = client_of(server).call("UpdateItem", nlohmann::json::object());
    EXPECT_TRUE(after_error.is("ConditionalCheckFailedException"));
    EXPECT_TRUE(after_error.maybe_applied);

    ScriptedHttpServer throttled;
    throttled.script("POST", "/",
                     {error(400, "ThrottlingException"), error(400, "ConditionalCheckFailedException")});
    const auto after_throttling = client_of(throttled).call("UpdateItem", nlohmann::json::object());
    EXPECT_TRUE(after_throttling.is("ConditionalCheckFailedException"));
    EXPECT_FALSE(after_throttling.maybe_applied);
}

TEST(DynamoClient, NoAttemptStartsPastTheCallDeadline) {
    ScriptedHttpServer server;
    server.script("POST", "/", {ScriptedResponse::json(200, R"({"Count":1})")});
    {
        const ddb::CallDeadline deadline(std::chrono::steady_clock::now());
        EXPECT_THROW(client_of(server).call("Query", nlohmann::json::object()), StoreUnavailable);
    }
    EXPECT_EQ(server.requests().size(), 0u);
    // Gone with its scope: calls run again.
    EXPECT_EQ(client_of(server).must("Query", nlohmann::json::object())["Count"], 1);
}

TEST(DynamoClient, RetriesAreBoundedAndEndInStoreUnavailable) {
    ScriptedHttpServer server;
    server.script("POST", "/", {ScriptedResponse::html(503, "busy")});
    EXPECT_THROW(client_of(server, "", 3).call("Query", nlohmann::json::object()), StoreUnavailable);
    EXPECT_EQ(server.requests().size(), 3u);
}

TEST(DynamoClient, NoAnswerIsStoreUnavailable) {
    ddb::DynamoClientOptions options;
    options.endpoint = "http://127.0.0.1:1";  // nothing listens there
    options.max_attempts = 2;
    options.backoff_base = milliseconds(1);
    options.http.connect_timeout = milliseconds(200);
    ddb::DynamoClient client(options, credentials());
    EXPECT_THROW(client.call("GetItem", nlohmann::json::object()), StoreUnavailable);
}

TEST(DynamoClient, AnAnswerThatIsNotJsonIsAFailureNotAWrongAnswer) {
    ScriptedHttpServer server;
    server.script("POST", "/", {ScriptedResponse::html(200, "<html>captive portal</html>")});
    EXPECT_THROW(client_of(server).call("GetItem", nlohmann::json::object()), StoreUnavailable);
}

TEST(DynamoClient, TheRegionalEndpointIsTheDefault) {
    EXPECT_EQ(ddb::regional_endpoint("eu-central-1"), "https://dynamodb.eu-central-1.amazonaws.com");
}

}  // namespace
}  // namespace broker

namespace broker {
namespace {

using testing::env_of;

TEST(DynamoOptions, TheOriginalsSettingsWithTheirDefaults) {
    const auto defaults = dynamo_options_from_env("", "", "", env_of({}));
    EXPECT_EQ(defaults.table, "SandboxPool");
    EXPECT_EQ(defaults.status_index, "StatusIndex");
    EXPECT_EQ(defaults.track_index, "TrackIndex");
    EXPECT_EQ(defaults.idempotency_index, "IdempotencyIndex");
    EXPECT_EQ(defaults.client.region, "us-east-1");
    EXPECT_EQ(defaults.client.endpoint, "https://dynamodb.us-east-1.amazonaws.com");

    const auto set = dynamo_options_from_env("", "", "",
                                             env_of({{"DDB_TABLE_NAME", "Pool"},
                                                     {"DDB_GSI1_NAME", "S1"},
                                                     {"DDB_GSI2_NAME", "S2"},
                                                     {"DDB_GSI3_NAME", "S3"},
                                                     {"AWS_REGION", "eu-west-1"},
                                                     {"LAB_DURATION_HOURS", "6"}}));
    EXPECT_EQ(set.table, "Pool");
    EXPECT_EQ(set.status_index, "S1");
    EXPECT_EQ(set.track_index, "S2");
    EXPECT_EQ(set.idempotency_index, "S3");
    EXPECT_EQ(set.client.endpoint, "https://dynamodb.eu-west-1.amazonaws.com");
    EXPECT_EQ(set.lab_duration_hours, 6);

    // The store URL's parts win over the settings.
    const auto url =
        dynamo_options_from_env("Other", "ap-south-1", "http://127.0.0.1:9",
                                env_of({{"DDB_TABLE_NAME", "Pool"}, {"DDB_ENDPOINT_URL", "http://x"}}));
    EXPECT_EQ(url.table, "Other");
    EXPECT_EQ(url.client.region, "ap-south-1");
    EXPECT_EQ(url.client.endpoint, "http://127.0.0.1:9");
    EXPECT_EQ(dynamo_options_from_env("", "", "", env_of({{"DDB_ENDPOINT_URL", "http://x"}})).client.endpoint,
              "http://x");
}

}  // namespace
}  // namespace broker
