// The AWS credential chain against a loopback server playing the ECS agent and the EC2
// instance metadata service: which source wins, the headers each one needs, refreshing before
// expiry on a ManualClock, concurrent callers, and failures that name the sources, never a secret.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <map>
#include <thread>

#include "core/errors.hpp"
#include "store/dynamodb/aws_credentials.hpp"
#include "store/temp_dir.hpp"
#include "unit/support/scripted_http_server.hpp"

namespace broker {

// Defined in aws_credentials.cpp: the chain with the ECS agent and instance metadata at
// other base addresses (here, the loopback server).
std::unique_ptr<AwsCredentialProvider> aws_credential_chain(const EnvLookup& env, const Clock& clock,
                                                            const std::string& ecs_base_url,
                                                            const std::string& imds_base_url);

namespace {

using std::chrono::milliseconds;
using testing::ScriptedHttpServer;
using testing::ScriptedResponse;
using testing::TempDir;

constexpr const char* kRolePath = "/latest/meta-data/iam/security-credentials/";

EnvLookup env_of(std::map<std::string, std::string> values) {
    return [values](const std::string& name) -> std::optional<std::string> {
        if (auto it = values.find(name); it != values.end()) return it->second;
        return std::nullopt;
    };
}

std::string iso8601(UnixSeconds at) {
    const std::time_t t = at;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

ScriptedResponse credentials_answer(const std::string& key_id, UnixSeconds expires_at) {
    return ScriptedResponse::json(
        200, R"({"Code":"Success","AccessKeyId":")" + key_id + R"(","SecretAccessKey":"secret-)" + key_id +
                 R"(","Token":"token-)" + key_id + R"(","Expiration":")" + iso8601(expires_at) + R"("})");
}

// An address nothing listens on.
std::string refused_url() {
    unsigned short port = 0;
    {
        ScriptedHttpServer server;
        port = server.port();
    }
    return "http://127.0.0.1:" + std::to_string(port);
}

std::string failure_of(AwsCredentialProvider& provider) {
    try {
        provider.credentials();
    } catch (const StoreUnavailable& e) {
        return e.what();
    }
    return "no error";
}

void script_imds(ScriptedHttpServer& server, std::vector<ScriptedResponse> credentials) {
    server.script("PUT", "/latest/api/token", {ScriptedResponse::json(200, "imds-session-token")});
    server.script("GET", kRolePath, {ScriptedResponse::json(200, "broker-role\n")});
    server.script("GET", std::string(kRolePath) + "broker-role", std::move(credentials));
}

TEST(AwsCredentials, EnvironmentKeysComeFirstAndNeverExpire) {
    ScriptedHttpServer server;
    ManualClock clock;
    const auto provider =
        aws_credential_chain(env_of({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                     {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                     {"AWS_SESSION_TOKEN", "env-token"},
                                     {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds"}}),
                             clock, server.base_url(), server.base_url());
    const auto credentials = provider->credentials();
    EXPECT_EQ(credentials.access_key_id, "AKIDENV");
    EXPECT_EQ(credentials.secret_access_key, "env-secret");
    EXPECT_EQ(credentials.session_token, "env-token");
    EXPECT_EQ(credentials.expires_at, std::nullopt);
    EXPECT_TRUE(server.requests().empty());
}

TEST(AwsCredentials, EcsRelativeUriIsAskedAtTheAgentAddress) {
    ScriptedHttpServer server;
    ManualClock clock;
    server.script("GET", "/v2/credentials/abc", {credentials_answer("AKIDECS", clock.now() + 3600)});
    const auto provider =
        aws_credential_chain(env_of({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}}),
                             clock, server.base_url(), refused_url());
    const auto credentials = provider->credentials();
    EXPECT_EQ(credentials.access_key_id, "AKIDECS");
    EXPECT_EQ(credentials.secret_access_key, "secret-AKIDECS");
    EXPECT_EQ(credentials.session_token, "token-AKIDECS");
    EXPECT_EQ(credentials.expires_at, clock.now() + 3600);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].header("Authorization"), "");
}

TEST(AwsCredentials, EcsFullUriSendsTheAuthorizationToken) {
    ScriptedHttpServer server;
    ManualClock clock;
    server.script("GET", "/creds", {credentials_answer("AKIDFULL", clock.now() + 3600)});
    const auto provider =
        aws_credential_chain(env_of({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server.base_url() + "/creds"},
                                     {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "agent-token"}}),
                             clock, refused_url(), refused_url());
    EXPECT_EQ(provider->credentials().access_key_id, "AKIDFULL");
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.requests()[0].header("Authorization"), "agent-token");
}

TEST(AwsCredentials, EcsTokenFileWinsAndIsReadAgainOnEveryRefresh) {
    ScriptedHttpServer server;
    ManualClock clock;
    TempDir dir;
    const auto token_file = dir.file("token");
    std::ofstream(token_file) << "file-token-1\n";
    server.script(
        "GET", "/creds",
        {credentials_answer("AKID1", clock.now() + 600), credentials_answer("AKID2", clock.now() + 7200)});
    const auto provider =
        aws_credential_chain(env_of({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server.base_url() + "/creds"},
                                     {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "variable-token"},
                                     {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file}}),
                             clock, refused_url(), refused_url());
    EXPECT_EQ(provider->credentials().access_key_id, "AKID1");
    std::ofstream(token_file) << "file-token-2\n";
    clock.advance(std::chrono::seconds(400));  // within five minutes of the expiry
    EXPECT_EQ(provider->credentials().access_key_id, "AKID2");
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].header("Authorization"), "file-token-1");
    EXPECT_EQ(requests[1].header("Authorization"), "file-token-2");
}

TEST(AwsCredentials, EcsFullUriInTheClearOnlyToTheAgentOrThisHost) {
    ManualClock clock;
    const auto provider = aws_credential_chain(
        env_of({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://credentials.example.com/creds"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "agent-token"}}),
        clock, refused_url(), refused_url());
    const auto message = failure_of(*provider);
    EXPECT_NE(message.find("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https"), std::string::npos) << message;
    EXPECT_EQ(message.find("agent-token"), std::string::npos);
}

TEST(AwsCredentials, ImdsV2AsksForASessionTokenAndSendsItOnEveryRead) {
    ScriptedHttpServer server;
    ManualClock clock;
    script_imds(server, {credentials_answer("AKIDIMDS", clock.now() + 21600)});
    const auto provider = aws_credential_chain(env_of({}), clock, refused_url(), server.base_url());
    const auto credentials = provider->credentials();
    EXPECT_EQ(credentials.access_key_id, "AKIDIMDS");
    EXPECT_EQ(credentials.session_token, "token-AKIDIMDS");
    EXPECT_EQ(credentials.expires_at, clock.now() + 21600);

    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].method, "PUT");
    EXPECT_EQ(requests[0].path, "/latest/api/token");
    EXPECT_EQ(requests[0].header("X-aws-ec2-metadata-token-ttl-seconds"), "21600");
    EXPECT_EQ(requests[1].path, kRolePath);
    EXPECT_EQ(requests[1].header("X-aws-ec2-metadata-token"), "imds-session-token");
    EXPECT_EQ(requests[2].path, std::string(kRolePath) + "broker-role");
    EXPECT_EQ(requests[2].header("X-aws-ec2-metadata-token"), "imds-session-token");
}

TEST(AwsCredentials, ImdsEndpointVariableOverridesTheDefaultAddress) {
    ScriptedHttpServer server;
    ManualClock clock;
    script_imds(server, {credentials_answer("AKIDIMDS", clock.now() + 3600)});
    const auto provider =
        aws_credential_chain(env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", server.base_url() + "/"}}), clock,
                             refused_url(), refused_url());
    EXPECT_EQ(provider->credentials().access_key_id, "AKIDIMDS");
    EXPECT_EQ(server.count("PUT", "/latest/api/token"), 1u);
}

TEST(AwsCredentials, HeldUntilFiveMinutesBeforeExpiryThenRefreshed) {
    ScriptedHttpServer server;
    ManualClock clock;
    const UnixSeconds start = clock.now();
    script_imds(server,
                {credentials_answer("AKID1", start + 3600), credentials_answer("AKID2", start + 7200)});
    const auto provider = aws_credential_chain(env_of({}), clock, refused_url(), server.base_url());
    const std::string credentials_path = std::string(kRolePath) + "broker-role";

    EXPECT_EQ(provider->credentials().access_key_id, "AKID1");
    clock.set(start + 3600 - 301);
    EXPECT_EQ(provider->credentials().access_key_id, "AKID1");
    EXPECT_EQ(server.count("GET", credentials_path), 1u);

    clock.set(start + 3600 - 300);
    EXPECT_EQ(provider->credentials().access_key_id, "AKID2");
    EXPECT_EQ(provider->credentials().access_key_id, "AKID2");
    EXPECT_EQ(server.count("GET", credentials_path), 2u);
    EXPECT_EQ(server.count("PUT", "/latest/api/token"), 2u);
}

TEST(AwsCredentials, FailedRefreshKeepsValidCredentialsAndFailsOnceTheyExpire) {
    ScriptedHttpServer server;
    ManualClock clock;
    const UnixSeconds start = clock.now();
    server.script("GET", "/creds",
                  {credentials_answer("AKID1", start + 3600), ScriptedResponse::json(500, "agent trouble")});
    const auto provider = aws_credential_chain(env_of({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}}),
                                               clock, server.base_url(), refused_url());
    EXPECT_EQ(provider->credentials().access_key_id, "AKID1");

    clock.set(start + 3600 - 200);  // due for refresh; the agent fails
    EXPECT_EQ(provider->credentials().access_key_id, "AKID1");
    EXPECT_EQ(server.count("GET", "/creds"), 2u);
    clock.advance(std::chrono::seconds(10));  // the next try waits a little
    EXPECT_EQ(provider->credentials().access_key_id, "AKID1");
    EXPECT_EQ(server.count("GET", "/creds"), 2u);

    clock.set(start + 3600);  // expired, and the agent still fails
    const auto message = failure_of(*provider);
    EXPECT_NE(message.find("ECS task role"), std::string::npos) << message;
    EXPECT_NE(message.find("HTTP 500"), std::string::npos) << message;
    EXPECT_EQ(message.find("secret-AKID1"), std::string::npos) << message;
    EXPECT_EQ(message.find("/creds"), std::string::npos) << message;  // the task's key to its role
}

TEST(AwsCredentials, ConcurrentCallersShareOneFetch) {
    ScriptedHttpServer server;
    ManualClock clock;
    auto slow = credentials_answer("AKIDSHARED", clock.now() + 3600);
    slow.delay = milliseconds(150);
    server.script("GET", "/creds", {slow});
    const auto provider = aws_credential_chain(env_of({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}}),
                                               clock, server.base_url(), refused_url());
    std::vector<std::string> seen(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        threads.emplace_back([&, i] { seen[i] = provider->credentials().access_key_id; });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& key : seen) EXPECT_EQ(key, "AKIDSHARED");
    EXPECT_EQ(server.count("GET", "/creds"), 1u);
}

TEST(AwsCredentials, NoSourceNamesEverythingTriedAndNoSecret) {
    ManualClock clock;
    const auto imds = refused_url();
    const auto provider = aws_credential_chain(env_of({{"AWS_SECRET_ACCESS_KEY", "lonely-secret"}}), clock,
                                               refused_url(), imds);
    const auto message = failure_of(*provider);
    EXPECT_NE(message.find("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), std::string::npos)
        << message;
    EXPECT_NE(message.find("ECS task role"), std::string::npos) << message;
    EXPECT_NE(message.find("EC2 instance metadata (" + imds + ")"), std::string::npos) << message;
    EXPECT_EQ(message.find("lonely-secret"), std::string::npos) << message;
}

TEST(AwsCredentials, MalformedAnswersAreUnavailableWithoutEchoingTheBody) {
    ScriptedHttpServer server;
    ManualClock clock;
    server.script("GET", "/creds",
                  {ScriptedResponse::json(
                      200, R"({"AccessKeyId":"AKID","SecretAccessKey":"leaky","Expiration":"tomorrow"})")});
    const auto provider = aws_credential_chain(env_of({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}}),
                                               clock, server.base_url(), refused_url());
    const auto message = failure_of(*provider);
    EXPECT_NE(message.find("Expiration is not an ISO 8601"), std::string::npos) << message;
    EXPECT_EQ(message.find("leaky"), std::string::npos) << message;
}

TEST(AwsCredentials, InstanceMetadataCanBeSwitchedOff) {
    ScriptedHttpServer server;
    ManualClock clock;
    const auto provider = aws_credential_chain(env_of({{"AWS_EC2_METADATA_DISABLED", "true"}}), clock,
                                               refused_url(), server.base_url());
    EXPECT_NE(failure_of(*provider).find("AWS_EC2_METADATA_DISABLED"), std::string::npos);
    EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace broker
