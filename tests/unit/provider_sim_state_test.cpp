// The provider simulator's state: ids and names shaped like the provider's, reproducible from
// the seed; deletes counted once; vanish; NIOSXaaS sessions and services; thread safety.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "provider/sim/sim_ids.hpp"
#include "provider/sim/sim_state.hpp"

namespace broker::sim {
namespace {

const std::regex kUuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(SimIds, Uuid4HasTheVersionAndVariantBits) {
    IdGenerator ids(7);
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const auto id = ids.uuid4();
        EXPECT_TRUE(std::regex_match(id, kUuid4)) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 200u);
}

TEST(SimIds, SameSeedSameIdsOtherSeedOtherIds) {
    IdGenerator a(42), b(42), c(43);
    const auto first = a.uuid4();
    EXPECT_EQ(first, b.uuid4());
    EXPECT_NE(first, c.uuid4());
    EXPECT_EQ(a.sfdc_account_id(), b.sfdc_account_id());
}

TEST(SimIds, SalesforceIdShape) {
    IdGenerator ids(1);
    EXPECT_TRUE(std::regex_match(ids.sfdc_account_id(), std::regex("^001[0-9A-Za-z]{15}$")));
}

TEST(SimIds, IsoTimestampAndZeroPaddedNames) {
    EXPECT_EQ(iso_timestamp(1743094427, 605459), "2025-03-27T16:53:47.605459Z");
    EXPECT_EQ(iso_timestamp(0, 7), "1970-01-01T00:00:00.000007Z");
    EXPECT_EQ(sandbox_name("lab-", 7), "lab-0007");
    EXPECT_EQ(sandbox_name("lab-", 12345), "lab-12345");
}

class SimStateTest : public ::testing::Test {
  protected:
    ManualClock clock_{1743094427};
    SimState state_{1, clock_};
};

TEST_F(SimStateTest, SandboxesAreNumberedPerPrefixWithSequentialCspIds) {
    const auto first = state_.add_sandboxes(3, "lab-");
    const auto other = state_.add_sandboxes(1, "demo-");
    const auto more = state_.add_sandboxes(2, "lab-");
    ASSERT_EQ(first.size(), 3u);
    EXPECT_EQ(first[0].name, "lab-0000");
    EXPECT_EQ(first[2].name, "lab-0002");
    EXPECT_EQ(other[0].name, "demo-0000");
    EXPECT_EQ(more[0].name, "lab-0003");
    EXPECT_EQ(first[0].csp_id, kFirstCspId);
    EXPECT_EQ(more[1].csp_id, kFirstCspId + 5);
    EXPECT_EQ(first[0].created_at.substr(0, 20), "2025-03-27T16:53:47.");
    EXPECT_TRUE(std::regex_match(first[1].uuid, kUuid4));
}

TEST_F(SimStateTest, ListCarriesEveryPresentAccountInTheProviderShape) {
    state_.add_sandboxes(2, "lab-");
    state_.add_ignored_accounts();
    const auto list = state_.list_accounts();
    EXPECT_EQ(nlohmann::json::parse(state_.list_body()), list) << "the served text is the same list";
    ASSERT_EQ(list["results"].size(), 5u);
    const auto& entry = list["results"][0];
    EXPECT_EQ(entry["account_type"], "sandbox");
    EXPECT_EQ(entry["state"], "active");
    EXPECT_EQ(entry["csp_id"], kFirstCspId);
    EXPECT_EQ(entry["id"].get<std::string>().rfind("identity/accounts/", 0), 0u);
    EXPECT_TRUE(entry["sfdc_account_id"].is_string());
    const auto stats = state_.stats();
    EXPECT_EQ(stats.active, 2u);
    EXPECT_EQ(stats.ignored, 3u);
}

TEST_F(SimStateTest, DeleteCountsOnceAndThenIsNotFound) {
    const auto added = state_.add_sandboxes(2, "lab-");
    EXPECT_TRUE(state_.delete_sandbox(added[0].uuid));
    EXPECT_FALSE(state_.delete_sandbox(added[0].uuid));
    EXPECT_FALSE(state_.delete_sandbox("00000000-0000-4000-8000-000000000000"));
    const auto stats = state_.stats();
    EXPECT_EQ(stats.deleted, 1u);
    EXPECT_EQ(stats.delete_not_found, 2u);
    EXPECT_EQ(stats.active, 1u);
    EXPECT_EQ(state_.list_accounts()["results"].size(), 1u);
}

TEST_F(SimStateTest, OnlySandboxesCanBeDeleted) {
    const auto org = state_.add_account({"org", "organization", "active", std::nullopt});
    EXPECT_FALSE(state_.delete_sandbox(org.uuid));
    EXPECT_EQ(state_.stats().deleted, 0u);
}

TEST_F(SimStateTest, VanishedAccountsLeaveTheListWithoutCountingAsDeleted) {
    const auto added = state_.add_sandboxes(3, "lab-");
    EXPECT_TRUE(state_.vanish(added[1].csp_id));
    EXPECT_FALSE(state_.vanish(added[1].csp_id));
    EXPECT_FALSE(state_.vanish(12));
    EXPECT_FALSE(state_.delete_sandbox(added[1].uuid));
    const auto stats = state_.stats();
    EXPECT_EQ(stats.vanished, 1u);
    EXPECT_EQ(stats.deleted, 0u);
    EXPECT_EQ(stats.active, 2u);
}

TEST_F(SimStateTest, NiosxaasSessionReachesTheAccountsServices) {
    const auto added = state_.add_sandboxes(2, "lab-");
    EXPECT_FALSE(state_.switch_account("not-a-token", added[0].external_id()));
    const auto user = state_.sign_in();
    EXPECT_FALSE(state_.switch_account(user, "identity/accounts/unknown"));
    const auto account = state_.switch_account(user, added[0].external_id());
    ASSERT_TRUE(account);
    EXPECT_FALSE(state_.services(user)) << "a user token is not an account token";

    const auto services = state_.services(*account);
    ASSERT_TRUE(services);
    ASSERT_EQ(services->size(), 2u);
    EXPECT_EQ((*services)[0].name, "Instrqt-SaaS-lab-0000");
    EXPECT_TRUE(std::regex_match((*services)[0].id, kUuid4));

    const auto other = state_.switch_account(user, added[1].uuid);  // the bare uuid works too
    ASSERT_TRUE(other);
    EXPECT_FALSE(state_.delete_service(*other, (*services)[0].id)) << "another account's service";
    EXPECT_TRUE(state_.delete_service(*account, (*services)[0].id));
    EXPECT_FALSE(state_.delete_service(*account, (*services)[0].id));
    EXPECT_EQ(state_.services(*account)->size(), 1u);
    EXPECT_EQ(state_.stats().services_deleted, 1u);

    state_.delete_sandbox(added[0].uuid);
    EXPECT_FALSE(state_.services(*account)) << "the account is gone";
}

TEST_F(SimStateTest, ConcurrentDeletesOfTheSameSandboxesCountEachOnce) {
    const auto added = state_.add_sandboxes(200, "lab-");
    std::atomic<int> successes{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (const auto& account : added) {
                if (state_.delete_sandbox(account.uuid)) ++successes;
                state_.count(SimCall::delete_account);
            }
        });
    }
    for (auto& t : threads) t.join();
    const auto stats = state_.stats();
    EXPECT_EQ(successes.load(), 200);
    EXPECT_EQ(stats.deleted, 200u);
    EXPECT_EQ(stats.delete_not_found, 7u * 200u);
    EXPECT_EQ(stats.calls.at(SimCall::delete_account), 8u * 200u);
    EXPECT_EQ(stats.to_json()["delete_calls"], 1600);
}

}  // namespace
}  // namespace broker::sim
