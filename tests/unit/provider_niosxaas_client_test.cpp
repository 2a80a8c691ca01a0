// The NIOSXaaS clean-up against a real local HTTP server: the session steps and their
// tokens, the name filter, shadow mode, failures as values, and no credentials in logs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "provider/niosxaas_client.hpp"
#include "unit/support/log_capture.hpp"
#include "unit/support/scripted_http_server.hpp"

namespace broker {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::LogCapture;
using testing::ScriptedHttpServer;
using testing::ScriptedResponse;

constexpr const char* kSignIn = "/v2/session/users/sign_in";
constexpr const char* kSwitch = "/v2/session/account_switch";
constexpr const char* kServices = "/api/universalinfra/v1/universalservices";
constexpr const char* kPassword = "pa55-w0rd-never-logged";
constexpr const char* kExternalId = "identity/accounts/4c1d-77";

const std::string kServicesBody = R"({"results": [
  {"id": "universalinfra/universalservices/svc-1", "name": "Instrqt-SaaS-lab-1"},
  {"id": "svc-2", "name": "customer production"},
  {"id": "universalinfra/universalservices/svc-3", "name": "old Instrqt-SaaS"}
]})";

class NiosxaasClientTest : public ::testing::Test {
  protected:
    ScriptedHttpServer server_;

    NiosxaasOptions options(bool shadow) {
        NiosxaasOptions o;
        o.enabled = true;
        o.base_url = server_.base_url() + "/";
        o.email = "lab-bot@example.com";
        o.password = kPassword;
        o.shadow_mode = shadow;
        o.timeout = milliseconds(300);
        return o;
    }
    void script_session() {
        server_.script("POST", kSignIn, {ScriptedResponse::json(200, R"({"jwt":"user-jwt"})")});
        server_.script("POST", kSwitch, {ScriptedResponse::json(200, R"({"jwt":"account-jwt"})")});
        server_.script("GET", kServices, {ScriptedResponse::json(200, kServicesBody)});
    }
};

TEST_F(NiosxaasClientTest, DisabledSkipsWithoutCalling) {
    auto o = options(false);
    o.enabled = false;
    NiosxaasClient client(o);
    EXPECT_EQ(client.cleanup(kExternalId).outcome, CleanupOutcome::skipped);
    EXPECT_TRUE(server_.requests().empty());
}

TEST_F(NiosxaasClientTest, ShadowModeReportsMatchesAndDeletesNothing) {
    script_session();
    NiosxaasClient client(options(true));
    const auto result = client.cleanup(kExternalId);

    EXPECT_EQ(result.outcome, CleanupOutcome::shadow);
    EXPECT_EQ(result.services, 2);
    EXPECT_EQ(result.service_names, (std::vector<std::string>{"Instrqt-SaaS-lab-1", "old Instrqt-SaaS"}));

    const auto requests = server_.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].path, kSignIn);
    const auto sign_in = json::parse(requests[0].body);
    EXPECT_EQ(sign_in["email"], "lab-bot@example.com");
    EXPECT_EQ(sign_in["password"], kPassword);
    EXPECT_EQ(requests[0].header("Authorization"), "");
    EXPECT_EQ(requests[1].path, kSwitch);
    EXPECT_EQ(json::parse(requests[1].body)["id"], kExternalId);
    EXPECT_EQ(requests[1].header("Authorization"), "Bearer user-jwt");
    EXPECT_EQ(requests[2].method, "GET");
    EXPECT_EQ(requests[2].header("Authorization"), "Bearer account-jwt");
}

TEST_F(NiosxaasClientTest, CleanModeDeletesEachMatchingService) {
    script_session();
    server_.script("DELETE", std::string(kServices) + "/svc-1", {ScriptedResponse::json(204, "")});
    server_.script("DELETE", std::string(kServices) + "/svc-3", {ScriptedResponse::json(404, "{}")});
    NiosxaasClient client(options(false));
    const auto result = client.cleanup(kExternalId);

    EXPECT_EQ(result.outcome, CleanupOutcome::cleaned) << result.reason;
    EXPECT_EQ(result.services, 2);
    EXPECT_EQ(server_.count("DELETE", std::string(kServices) + "/svc-1"), 1u);
    EXPECT_EQ(server_.count("DELETE", std::string(kServices) + "/svc-3"), 1u);
    EXPECT_EQ(server_.count("DELETE", std::string(kServices) + "/svc-2"), 0u);
    for (const auto& r : server_.requests()) {
        if (r.method == "DELETE") {
            EXPECT_EQ(r.header("Authorization"), "Bearer account-jwt");
        }
    }
}

TEST_F(NiosxaasClientTest, ACustomFilterSelectsOtherServices) {
    script_session();
    server_.script("DELETE", std::string(kServices) + "/svc-2", {ScriptedResponse::json(200, "{}")});
    auto o = options(false);
    o.service_name = "production";
    NiosxaasClient client(o);
    const auto result = client.cleanup(kExternalId);
    EXPECT_EQ(result.outcome, CleanupOutcome::cleaned);
    EXPECT_EQ(result.service_names, (std::vector<std::string>{"customer production"}));
}

TEST_F(NiosxaasClientTest, FailedSignInStopsThere) {
    server_.script("POST", kSignIn, {ScriptedResponse::json(401, R"({"error":"bad credentials"})")});
    NiosxaasClient client(options(false));
    const auto result = client.cleanup(kExternalId);
    EXPECT_EQ(result.outcome, CleanupOutcome::failed);
    EXPECT_NE(result.reason.find("sign_in: HTTP 401"), std::string::npos) << result.reason;
    EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(NiosxaasClientTest, HtmlServiceListIsAFailure) {
    script_session();
    server_.script("GET", kServices, {ScriptedResponse::html(200, "<html>login</html>")});
    NiosxaasClient client(options(false));
    const auto result = client.cleanup(kExternalId);
    EXPECT_EQ(result.outcome, CleanupOutcome::failed);
    EXPECT_NE(result.reason.find("not a JSON object"), std::string::npos) << result.reason;
}

TEST_F(NiosxaasClientTest, AFailedDeletionIsReportedWithWhatWasCleaned) {
    script_session();
    server_.script("DELETE", std::string(kServices) + "/svc-1", {ScriptedResponse::json(204, "")});
    server_.script("DELETE", std::string(kServices) + "/svc-3",
                   {ScriptedResponse::html(500, "<html>x</html>")});
    NiosxaasClient client(options(false));
    const auto result = client.cleanup(kExternalId);
    EXPECT_EQ(result.outcome, CleanupOutcome::failed);
    EXPECT_EQ(result.services, 1);
    EXPECT_NE(result.reason.find("1 of 2"), std::string::npos) << result.reason;
}

TEST_F(NiosxaasClientTest, SlowServiceTimesOut) {
    ScriptedResponse slow = ScriptedResponse::json(200, R"({"jwt":"user-jwt"})");
    slow.delay = milliseconds(1000);
    server_.script("POST", kSignIn, {slow});
    NiosxaasClient client(options(false));
    const auto started = std::chrono::steady_clock::now();
    const auto result = client.cleanup(kExternalId);
    EXPECT_EQ(result.outcome, CleanupOutcome::failed);
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(900));
}

TEST_F(NiosxaasClientTest, CredentialsAndTokensNeverReachTheLog) {
    script_session();
    server_.script("DELETE", std::string(kServices) + "/svc-1",
                   {ScriptedResponse::html(500, "<html>x</html>")});
    server_.script("DELETE", std::string(kServices) + "/svc-3", {ScriptedResponse::json(204, "")});
    LogCapture capture;
    NiosxaasClient(options(true)).cleanup(kExternalId);
    NiosxaasClient(options(false)).cleanup(kExternalId);
    const auto log = capture.text();
    EXPECT_NE(log.find("Instrqt-SaaS-lab-1"), std::string::npos);  // the capture works
    EXPECT_EQ(log.find(kPassword), std::string::npos);
    EXPECT_EQ(log.find("user-jwt"), std::string::npos);
    EXPECT_EQ(log.find("account-jwt"), std::string::npos);
}

struct RecordingObserver final : ProviderObserver {
    std::vector<std::string> calls;  // "operation outcome"
    void call_finished(std::string_view operation, ProviderCallOutcome outcome) override {
        calls.push_back(std::string(operation) + " " + std::string(to_string(outcome)));
    }
    void breaker_state(std::string_view, BreakerState) override { ADD_FAILURE() << "NIOSXaaS has no breaker"; }
};

TEST_F(NiosxaasClientTest, ReportsEveryExchangeToItsObserver) {
    script_session();
    server_.script("DELETE", std::string(kServices) + "/svc-1", {ScriptedResponse::json(404, "{}")});
    server_.script("DELETE", std::string(kServices) + "/svc-3", {ScriptedResponse::json(503, "{}")});
    RecordingObserver observer;
    NiosxaasClient client(options(false), &observer);
    EXPECT_EQ(client.cleanup(kExternalId).outcome, CleanupOutcome::failed);
    EXPECT_EQ(observer.calls,
              (std::vector<std::string>{"niosxaas_sign_in ok", "niosxaas_account_switch ok", "niosxaas_list_services ok",
                                        "niosxaas_delete_service ok", "niosxaas_delete_service server_error"}));

    // An HTML page where a JSON object belongs is no "ok".
    server_.script("POST", kSignIn, {ScriptedResponse::html(200, "<html>login</html>")});
    observer.calls.clear();
    EXPECT_EQ(client.cleanup(kExternalId).outcome, CleanupOutcome::failed);
    EXPECT_EQ(observer.calls, std::vector<std::string>{"niosxaas_sign_in bad_response"});
}

}  // namespace
}  // namespace broker
