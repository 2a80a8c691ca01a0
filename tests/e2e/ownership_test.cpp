// GET /v1/sandboxes/{id} and mark-for-deletion against the real binary: only the holder sees
// or returns its sandbox, unknown ids are 404, and returning twice answers the same.
#include <gtest/gtest.h>

#include <chrono>

#include "e2e/broker_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

class OwnershipTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        clock_ = std::make_unique<TestClock>();
        broker_ =
            std::make_unique<BrokerInstance>(sandboxes("own-", 40, 400000), serving_env(), clock_->flags());
    }
    static void TearDownTestSuite() {
        broker_.reset();
        clock_.reset();
    }

    void SetUp() override {
        owner_ = unique_participant("owner");
        auto allocated = allocate(client_, owner_);
        ASSERT_EQ(allocated.status, 201) << allocated.body;
        allocation_ = allocated.json;
        sandbox_id_ = allocated.json["sandbox_id"];
    }

    static inline std::unique_ptr<TestClock> clock_;
    static inline std::unique_ptr<BrokerInstance> broker_;
    HttpClient client_ = broker_->client();
    std::string owner_;
    std::string sandbox_id_;
    nlohmann::json allocation_;
};

TEST_F(OwnershipTest, HolderSeesItsSandboxAsAllocated) {
    auto response = get_sandbox(client_, sandbox_id_, owner_);

    ASSERT_EQ(response.status, 200) << response.body;
    const auto& body = response.json;
    EXPECT_EQ(body["sandbox_id"], sandbox_id_);
    EXPECT_EQ(body["status"], "allocated");
    EXPECT_EQ(body["allocated_to_track"], owner_);
    for (const char* field : {"name", "external_id", "allocated_at", "expires_at", "sfdc_account_id"}) {
        EXPECT_EQ(body[field], allocation_[field]) << field;
    }
}

TEST_F(OwnershipTest, AnotherParticipantGets403OnGet) {
    auto response = get_sandbox(client_, sandbox_id_, unique_participant("intruder"));

    EXPECT_EQ(response.status, 403) << response.body;
    EXPECT_EQ(error_code(response), "NOT_SANDBOX_OWNER");
}

TEST_F(OwnershipTest, UnknownSandboxGets404OnGet) {
    auto response = get_sandbox(client_, "999999999", owner_);

    EXPECT_EQ(response.status, 404) << response.body;
    EXPECT_EQ(error_code(response), "SANDBOX_NOT_FOUND");
}

TEST_F(OwnershipTest, AnotherParticipantGets403OnMarkAndTheSandboxStaysAllocated) {
    auto response = mark_for_deletion(client_, sandbox_id_, unique_participant("intruder"));

    EXPECT_EQ(response.status, 403) << response.body;
    EXPECT_EQ(error_code(response), "NOT_SANDBOX_OWNER");
    auto still = get_sandbox(client_, sandbox_id_, owner_);
    EXPECT_EQ(still.json["status"], "allocated") << still.body;
}

TEST_F(OwnershipTest, UnknownSandboxGets404OnMark) {
    auto response = mark_for_deletion(client_, "999999999", owner_);

    EXPECT_EQ(response.status, 404) << response.body;
    EXPECT_EQ(error_code(response), "SANDBOX_NOT_FOUND");
}

TEST_F(OwnershipTest, OwnerMarksForDeletion) {
    auto response = mark_for_deletion(client_, sandbox_id_, owner_);

    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.json["sandbox_id"], sandbox_id_);
    EXPECT_EQ(response.json["status"], "pending_deletion");
    ASSERT_TRUE(response.json["deletion_requested_at"].is_number_integer()) << response.body;
    EXPECT_GE(response.json["deletion_requested_at"].get<long>(), allocation_["allocated_at"].get<long>());
}

TEST_F(OwnershipTest, RepeatedMarkForDeletionAnswersTheSame) {
    auto first = mark_for_deletion(client_, sandbox_id_, owner_);
    ASSERT_EQ(first.status, 200) << first.body;
    // A later second, so a re-stamped deletion_requested_at would show.
    clock_->advance(std::chrono::seconds(1));
    auto second = mark_for_deletion(client_, sandbox_id_, owner_);

    EXPECT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(second.json, first.json);
}

TEST_F(OwnershipTest, OwnerMarkingOnTenConnectionsAtOnceGetsOneAnswer) {
    auto result = burst(*broker_, 10, [&](HttpClient& client, int) {
        return mark_for_deletion(client, sandbox_id_, owner_);
    });

    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(result.failures[i], "") << "connection " << i;
        EXPECT_EQ(result.responses[i].status, 200) << result.responses[i].body;
        EXPECT_EQ(result.responses[i].json, result.responses[0].json);
    }
    EXPECT_EQ(result.responses[0].json["status"], "pending_deletion");
}

TEST_F(OwnershipTest, MarkedSandboxIsNotHandedOutAgain) {
    ASSERT_EQ(mark_for_deletion(client_, sandbox_id_, owner_).status, 200);

    // A returned sandbox waits for cleanup; it must not go back into the pool.
    for (int i = 0; i < 5; ++i) {
        auto other = allocate(client_, unique_participant("after-mark"));
        ASSERT_EQ(other.status, 201) << other.body;
        EXPECT_NE(other.json["sandbox_id"], sandbox_id_);
    }
}

}  // namespace
}  // namespace broker::e2e
