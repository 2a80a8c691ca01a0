// POST /v1/allocate against the real binary: concurrency, idempotency, the prefix filter and
// the shape of the answer. One broker serves the whole suite; tests use their own participants.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <set>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

class AllocateTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto pool = sandboxes("lab-", 400, 100000);
        // Entries import must skip: they would satisfy these prefixes if they were kept.
        pool.push_back({300001, "gone-0", "sfdc-gone", "sandbox", "deleted"});
        pool.push_back({300002, "org-0", "sfdc-org", "organization", "active"});
        broker_ = std::make_unique<BrokerInstance>(pool);
    }
    static void TearDownTestSuite() { broker_.reset(); }

    static inline std::unique_ptr<BrokerInstance> broker_;
};

void expect_sandbox_body(const nlohmann::json& body) {
    ASSERT_TRUE(body.is_object()) << body;
    for (const char* field : {"sandbox_id", "name", "external_id", "sfdc_account_id"}) {
        EXPECT_TRUE(body.contains(field) && body[field].is_string()) << field << " in " << body;
    }
    for (const char* field : {"allocated_at", "expires_at"}) {
        EXPECT_TRUE(body.contains(field) && body[field].is_number_integer()) << field << " in " << body;
    }
}

TEST_F(AllocateTest, NewAllocationIs201WithTheSandboxFields) {
    auto client = broker_->client();
    auto response = allocate(client, unique_participant("fields"));

    ASSERT_EQ(response.status, 201) << response.body;
    expect_sandbox_body(response.json);
    const auto& body = response.json;
    std::string name = body["name"];
    EXPECT_EQ(name.rfind("lab-", 0), 0u) << name;
    std::string sandbox_id = body["sandbox_id"];
    EXPECT_EQ(body["external_id"], "identity/accounts/00000000-0000-4000-8000-" +
                                       std::string(12 - sandbox_id.size(), '0') + sandbox_id);
    EXPECT_EQ(body["sfdc_account_id"], "sfdc-" + sandbox_id);
    EXPECT_GT(body["expires_at"].get<long>(), body["allocated_at"].get<long>());
    auto now = static_cast<long>(std::time(nullptr));
    EXPECT_LE(std::abs(body["allocated_at"].get<long>() - now), 5);
}

TEST_F(AllocateTest, SameParticipantAgainIs200WithTheSameSandbox) {
    auto client = broker_->client();
    auto participant = unique_participant("again");
    auto first = allocate(client, participant);
    auto second = allocate(client, participant);

    ASSERT_EQ(first.status, 201) << first.body;
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(second.json, first.json);
}

TEST_F(AllocateTest, TwoHundredConcurrentParticipantsGetTwoHundredDistinctSandboxes) {
    constexpr int kParticipants = 200;
    auto result = burst(*broker_, kParticipants, [](HttpClient& client, int i) {
        return allocate(client, unique_participant("burst-" + std::to_string(i)));
    });

    std::set<std::string> sandbox_ids;
    int created = 0;
    for (int i = 0; i < kParticipants; ++i) {
        ASSERT_EQ(result.failures[i], "") << "participant " << i;
        const auto& response = result.responses[i];
        EXPECT_EQ(response.status, 201) << response.body;
        if (response.status == 201) {
            ++created;
            sandbox_ids.insert(response.json["sandbox_id"].get<std::string>());
        }
    }
    EXPECT_EQ(created, kParticipants);
    EXPECT_EQ(sandbox_ids.size(), static_cast<std::size_t>(kParticipants))
        << "a sandbox went to two participants";
}

TEST_F(AllocateTest, ParticipantRacingItselfOnTwentyConnectionsGetsOneSandbox) {
    constexpr int kConnections = 20;
    auto participant = unique_participant("racer");
    auto result =
        burst(*broker_, kConnections, [&](HttpClient& client, int) { return allocate(client, participant); });

    int created = 0;
    int repeated = 0;
    std::set<std::string> sandbox_ids;
    for (int i = 0; i < kConnections; ++i) {
        ASSERT_EQ(result.failures[i], "") << "connection " << i;
        const auto& response = result.responses[i];
        if (response.status == 201) ++created;
        if (response.status == 200) ++repeated;
        if (response.json.contains("sandbox_id")) sandbox_ids.insert(response.json["sandbox_id"]);
    }
    EXPECT_EQ(created, 1);
    EXPECT_EQ(repeated, kConnections - 1);
    EXPECT_EQ(sandbox_ids.size(), 1u);
}

TEST_F(AllocateTest, ImportedPoolHoldsNoInactiveOrNonSandboxAccounts) {
    auto client = broker_->client();
    for (const char* prefix : {"gone-", "org-"}) {
        auto response = allocate(client, unique_participant("skipped"), {{"X-Sandbox-Name-Prefix", prefix}});
        EXPECT_EQ(response.status, 409) << prefix << ": " << response.body;
    }
}

TEST_F(AllocateTest, LegacyTrackIdIsTheSameParticipantAsInstruqtSandboxId) {
    auto client = broker_->client();
    auto participant = unique_participant("legacy");
    Headers legacy{{"Authorization", "Bearer " + kApiToken}, {"X-Track-ID", participant}};

    auto first = client.post("/v1/allocate", legacy);
    ASSERT_EQ(first.status, 201) << first.body;
    auto again = allocate(client, participant);  // X-Instruqt-Sandbox-ID with the same value
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.json["sandbox_id"], first.json["sandbox_id"]);

    auto fetched = client.get("/v1/sandboxes/" + first.json["sandbox_id"].get<std::string>(), legacy);
    EXPECT_EQ(fetched.status, 200) << fetched.body;
    EXPECT_EQ(fetched.json["allocated_to_track"], participant);
}

TEST_F(AllocateTest, IdempotencyKeyIsDistinctFromTheParticipantId) {
    auto client = broker_->client();
    auto participant = unique_participant("keyed");
    auto key = unique_participant("key");

    auto keyed = allocate(client, participant, {{"Idempotency-Key", key}});
    ASSERT_EQ(keyed.status, 201) << keyed.body;
    auto keyed_again = allocate(client, participant, {{"Idempotency-Key", key}});
    EXPECT_EQ(keyed_again.status, 200) << keyed_again.body;
    EXPECT_EQ(keyed_again.json["sandbox_id"], keyed.json["sandbox_id"]);

    // Without the header the key is the participant id: another key, but one sandbox per
    // participant (MAX_SANDBOXES_PER_PARTICIPANT=1), so the one held answers.
    auto unkeyed = allocate(client, participant);
    ASSERT_EQ(unkeyed.status, 200) << unkeyed.body;
    EXPECT_EQ(unkeyed.json["sandbox_id"], keyed.json["sandbox_id"]);

    // Keys are the participant's own: someone else presenting the key gets a sandbox of its
    // own, and the first participant keeps its.
    auto stranger = allocate(client, unique_participant("stranger"), {{"Idempotency-Key", key}});
    EXPECT_EQ(stranger.status, 201) << stranger.body;
    EXPECT_NE(stranger.json["sandbox_id"], keyed.json["sandbox_id"]);
    EXPECT_EQ(allocate(client, participant, {{"Idempotency-Key", key}}).json["sandbox_id"],
              keyed.json["sandbox_id"]);
}

TEST_F(AllocateTest, TrackNameIsStoredFromInstruqtTrackId) {
    auto client = broker_->client();
    auto participant = unique_participant("track");
    auto allocated = allocate(client, participant, {{"X-Instruqt-Track-ID", "intro-to-ddi"}});
    ASSERT_EQ(allocated.status, 201) << allocated.body;

    auto fetched = get_sandbox(client, allocated.json["sandbox_id"], participant);
    ASSERT_EQ(fetched.status, 200) << fetched.body;
    EXPECT_EQ(fetched.json["track_name"], "intro-to-ddi");
}

// Tests of the pool's make-up use a broker of their own: in the shared pool, allocations
// without a prefix may take any sandbox, so the parts these tests count on could be gone.
TEST(AllocatePoolTest, PrefixFilterGivesOnlyMatchingNamesAnd409WhenItsPartIsEmpty) {
    auto pool = sandboxes("lab-", 5, 200000);
    auto blue = sandboxes("blue-", 3, 210000);
    pool.insert(pool.end(), blue.begin(), blue.end());
    BrokerInstance broker(pool);
    auto client = broker.client();
    std::set<std::string> names;
    for (int i = 0; i < 3; ++i) {
        auto response = allocate(client, unique_participant("blue"), {{"X-Sandbox-Name-Prefix", "blue-"}});
        ASSERT_EQ(response.status, 201) << response.body;
        names.insert(response.json["name"].get<std::string>());
    }
    EXPECT_EQ(names, (std::set<std::string>{"blue-0", "blue-1", "blue-2"}));

    auto exhausted = allocate(client, unique_participant("blue"), {{"X-Sandbox-Name-Prefix", "blue-"}});
    EXPECT_EQ(exhausted.status, 409) << exhausted.body;
    EXPECT_EQ(error_code(exhausted), "NO_SANDBOXES_AVAILABLE");
    EXPECT_EQ(exhausted.header("Retry-After"), "30");

    // A prefix no sandbox has (a typo) is told apart, without a Retry-After: waiting won't help.
    auto typo = allocate(client, unique_participant("blue"), {{"X-Sandbox-Name-Prefix", "bleu-"}});
    EXPECT_EQ(typo.status, 409) << typo.body;
    EXPECT_EQ(error_code(typo), "NO_SANDBOXES_FOR_PREFIX");
    EXPECT_FALSE(typo.has_header("Retry-After"));
    EXPECT_FALSE(typo.json["error"].contains("retry_after"));

    // The rest of the pool is still there for anyone without the prefix.
    auto unfiltered = allocate(client, unique_participant("blue"));
    EXPECT_EQ(unfiltered.status, 201) << unfiltered.body;
    EXPECT_EQ(unfiltered.json["name"].get<std::string>().rfind("lab-", 0), 0u) << unfiltered.body;
}

TEST(AllocatePoolTest, SandboxWithoutSfdcAccountIdAnswersEmptyStringNotNull) {
    BrokerInstance broker({{220000, "nosfdc-0", std::nullopt}});
    auto client = broker.client();
    auto participant = unique_participant("nosfdc");
    auto allocated = allocate(client, participant);

    ASSERT_EQ(allocated.status, 201) << allocated.body;
    expect_sandbox_body(allocated.json);
    EXPECT_EQ(allocated.json["sfdc_account_id"], "");

    auto fetched = get_sandbox(client, allocated.json["sandbox_id"], participant);
    ASSERT_EQ(fetched.status, 200) << fetched.body;
    for (const auto& [field, value] : fetched.json.items()) {
        EXPECT_FALSE(value.is_null()) << field << " is null in " << fetched.body;
    }
    EXPECT_EQ(fetched.json["sfdc_account_id"], "");
    EXPECT_EQ(fetched.json["track_name"], "");
}

}  // namespace
}  // namespace broker::e2e
