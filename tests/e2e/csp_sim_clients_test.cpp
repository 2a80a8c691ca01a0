// The project's own provider clients against the running simulator: the CSP client lists and
// deletes (also through a 30% fault rate, where every sandbox must still be deleted exactly
// once), and the NIOSXaaS client cleans a sandbox's lab service.
#include <gtest/gtest.h>

#include <set>

#include "core/clock.hpp"
#include "e2e/sim_process.hpp"
#include "provider/csp_client.hpp"
#include "provider/niosxaas_client.hpp"

namespace broker::e2e {
namespace {

constexpr const char* kToken = "sim-csp-token-123";

class CspClientAgainstSim : public ::testing::Test {
  protected:
    CspClient make_client(const SimProcess& sim, int max_attempts = 3) {
        CspClientOptions options;
        options.base_url = sim.url() + "/v2";
        options.token = kToken;
        options.max_attempts = max_attempts;
        options.rate_limit_rps = 0;  // the simulator does not need protecting
        options.breaker_threshold = 1000;
        options.backoff = {std::chrono::milliseconds(5), std::chrono::milliseconds(20)};
        return CspClient(options, clock_, sleep_.as_function(), make_random_source(3));
    }

    SystemClock clock_;
    StoppableSleep sleep_;
};

TEST_F(CspClientAgainstSim, ListsTheActiveSandboxesAndDeletesOne) {
    SimProcess sim({"--sandboxes", "12", "--name-prefix", "lab-", "--token", kToken});
    auto client = make_client(sim);

    const ListResult list = client.list_sandboxes();
    ASSERT_TRUE(list.ok()) << list.failure->message;
    ASSERT_EQ(list.sandboxes.size(), 12u);
    EXPECT_GE(list.ignored, 2u) << "the organization and inactive accounts are skipped";
    EXPECT_EQ(list.sandboxes[0].sandbox_id, "2009521");
    EXPECT_EQ(list.sandboxes[0].name, "lab-0000");
    EXPECT_EQ(list.sandboxes[0].external_id.rfind("identity/accounts/", 0), 0u);
    EXPECT_FALSE(list.sandboxes[0].sfdc_account_id.empty());

    const DeleteResult first = client.delete_sandbox(list.sandboxes[4].external_id);
    EXPECT_EQ(first.status, DeleteStatus::deleted) << first.reason;
    const DeleteResult again = client.delete_sandbox(list.sandboxes[4].external_id);
    EXPECT_EQ(again.status, DeleteStatus::already_gone) << again.reason;

    const ListResult after = client.list_sandboxes();
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after.sandboxes.size(), 11u);
    const auto stats = sim.stats();
    EXPECT_EQ(stats["deleted"], 1);
    EXPECT_EQ(stats["delete_calls"], 2);
    EXPECT_EQ(stats["list_calls"], 2);
}

TEST_F(CspClientAgainstSim, WrongTokenIsABadResponseNotRetried) {
    SimProcess sim({"--sandboxes", "2", "--token", "another-token"});
    auto client = make_client(sim);
    const ListResult list = client.list_sandboxes();
    ASSERT_FALSE(list.ok());
    EXPECT_EQ(list.failure->kind, ProviderFailureKind::bad_response);
    EXPECT_EQ(list.attempts, 1);
}

TEST_F(CspClientAgainstSim, EverySandboxIsDeletedExactlyOnceThroughFaults) {
    SimProcess sim({"--sandboxes", "20", "--token", kToken, "--seed", "5"});
    auto client = make_client(sim, 10);
    const ListResult list = client.list_sandboxes();
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list.sandboxes.size(), 20u);

    // Mostly outages: a 429 makes the client honour Retry-After: 1, which would only slow the test.
    sim.set_faults({{"fail_rate", 0.3}, {"throttle_share", 0.1}});
    int deleted = 0;
    for (const auto& sandbox : list.sandboxes) {
        const DeleteResult result = client.delete_sandbox(sandbox.external_id);
        EXPECT_TRUE(result.gone()) << result.reason;
        deleted += result.status == DeleteStatus::deleted;
    }
    const ListResult after = client.list_sandboxes();
    ASSERT_TRUE(after.ok()) << after.failure->message;
    EXPECT_TRUE(after.sandboxes.empty());

    const auto stats = sim.stats();
    EXPECT_EQ(stats["deleted"], 20) << "each removal counted once";
    EXPECT_EQ(deleted, 20);
    EXPECT_GT(stats["faults_500"].get<int>() + stats["faults_429"].get<int>(), 0) << "faults did happen";
    EXPECT_GT(stats["delete_calls"].get<int>(), 20) << "and were retried";
}

TEST(NiosxaasClientAgainstSim, CleansTheLabServiceAndLeavesTheOther) {
    SimProcess sim({"--sandboxes", "2"});
    auto http = sim.client();
    const auto accounts = http.get("/v2/current_user/accounts").json["results"];
    const std::string external_id = accounts[0]["id"];

    NiosxaasOptions options;
    options.enabled = true;
    options.base_url = sim.url();
    options.email = "ops@example.com";
    options.password = "pw";
    options.timeout = std::chrono::seconds(5);

    options.shadow_mode = true;
    const CleanupResult shadow = NiosxaasClient(options).cleanup(external_id);
    EXPECT_EQ(shadow.outcome, CleanupOutcome::shadow) << shadow.reason;
    EXPECT_EQ(shadow.services, 1);
    EXPECT_EQ(sim.stats()["services_deleted"], 0);

    options.shadow_mode = false;
    const CleanupResult cleaned = NiosxaasClient(options).cleanup(external_id);
    EXPECT_EQ(cleaned.outcome, CleanupOutcome::cleaned) << cleaned.reason;
    EXPECT_EQ(cleaned.services, 1);
    ASSERT_EQ(cleaned.service_names.size(), 1u);
    EXPECT_EQ(cleaned.service_names[0].rfind("Instrqt-SaaS-", 0), 0u);

    const auto stats = sim.stats();
    EXPECT_EQ(stats["services_deleted"], 1);
    EXPECT_EQ(stats["sign_in_calls"], 2);
    EXPECT_EQ(stats["service_delete_calls"], 1);

    const CleanupResult again = NiosxaasClient(options).cleanup(external_id);
    EXPECT_EQ(again.outcome, CleanupOutcome::cleaned);
    EXPECT_EQ(again.services, 0) << "nothing left to match";
}

}  // namespace
}  // namespace broker::e2e
