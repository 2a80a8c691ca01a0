// What happens over a broker's life, each test on a broker of its own: the pool running dry,
// a lease running out, a restart on the same store file, and a prompt exit on SIGTERM.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "e2e/broker_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using std::chrono::steady_clock;

TEST(PoolExhaustionTest, EmptyPoolIs409WithRetryAfter) {
    BrokerInstance broker(sandboxes("tiny-", 3, 600000));
    auto client = broker.client();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(allocate(client, unique_participant("tiny")).status, 201);

    auto response = allocate(client, unique_participant("late"));

    EXPECT_EQ(response.status, 409) << response.body;
    EXPECT_EQ(error_code(response), "NO_SANDBOXES_AVAILABLE");
    EXPECT_EQ(response.json["detail"]["code"], "NO_SANDBOXES_AVAILABLE");
    const auto& retry_after = response.json["error"]["retry_after"];
    ASSERT_TRUE(retry_after.is_number_integer()) << response.body;
    EXPECT_GT(retry_after.get<int>(), 0);
    EXPECT_EQ(response.header("Retry-After"), std::to_string(retry_after.get<int>()));
}

TEST(PoolExhaustionTest, ParticipantsHoldingASandboxStillGetItWhenThePoolIsEmpty) {
    BrokerInstance broker(sandboxes("one-", 1, 610000));
    auto client = broker.client();
    auto holder = unique_participant("holder");
    auto first = allocate(client, holder);
    ASSERT_EQ(first.status, 201) << first.body;
    ASSERT_EQ(allocate(client, unique_participant("other")).status, 409);

    auto again = allocate(client, holder);

    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.json["sandbox_id"], first.json["sandbox_id"]);
}

TEST(PoolExhaustionTest, ContendedSmallPoolGivesEachSandboxOnceAndTheRest409) {
    constexpr int kSandboxes = 10;
    constexpr int kParticipants = 60;
    BrokerInstance broker(sandboxes("scarce-", kSandboxes, 605000));

    auto result = burst(broker, kParticipants, [](HttpClient& client, int i) {
        return allocate(client, unique_participant("scarce-" + std::to_string(i)));
    });

    std::set<std::string> sandbox_ids;
    int created = 0;
    int refused = 0;
    for (int i = 0; i < kParticipants; ++i) {
        ASSERT_EQ(result.failures[i], "") << "participant " << i;
        const auto& response = result.responses[i];
        if (response.status == 201) {
            ++created;
            sandbox_ids.insert(response.json["sandbox_id"].get<std::string>());
        } else if (response.status == 409 && error_code(response) == "NO_SANDBOXES_AVAILABLE") {
            ++refused;
        } else {
            ADD_FAILURE() << "participant " << i << ": " << response.status << " " << response.body;
        }
    }
    EXPECT_EQ(created, kSandboxes);
    EXPECT_EQ(refused, kParticipants - kSandboxes);
    EXPECT_EQ(sandbox_ids.size(), static_cast<std::size_t>(kSandboxes))
        << "a sandbox went to two participants";
}

TEST(LeaseExpiryTest, MarkOrAllocateAfterTheLeaseRanOutIs403AllocationExpired) {
    auto env = serving_env();
    env["LAB_DURATION_SEC"] = "1";
    env["GRACE_PERIOD_SEC"] = "0";
    TestClock clock;
    BrokerInstance broker(sandboxes("short-", 2, 620000), env, clock.flags());
    auto client = broker.client();
    auto participant = unique_participant("short");
    // The expiry job's first run (at start) is over before the lease is: its next run is 300 s
    // of the clock away, so nothing takes the sandbox back while this test looks at it. (On a
    // busy machine that first run may come late, after the clock moved past the lease.)
    ASSERT_TRUE(wait_until([&] { return job_last_finished(client, "auto_expiry") == clock.now(); },
                           std::chrono::seconds(60)));

    auto allocated = allocate(client, participant);
    ASSERT_EQ(allocated.status, 201) << allocated.body;
    EXPECT_EQ(allocated.json["allocated_at"].get<long>(), clock.now());
    EXPECT_EQ(allocated.json["expires_at"].get<long>(), clock.now() + 1);

    // Within the lease's last second (1 s, no grace) the allocation still holds; at its end it is over.
    clock.advance(std::chrono::milliseconds(999));
    auto held = allocate(client, participant);
    EXPECT_EQ(held.status, 200) << held.body;
    EXPECT_EQ(held.json["sandbox_id"], allocated.json["sandbox_id"]);
    clock.advance(std::chrono::milliseconds(1));
    auto marked = mark_for_deletion(client, allocated.json["sandbox_id"], participant);

    EXPECT_EQ(marked.status, 403) << marked.body;
    EXPECT_EQ(error_code(marked), "ALLOCATION_EXPIRED");
    // A repeated allocate answers the same, instead of handing the expired sandbox out again.
    auto repeated = allocate(client, participant);
    EXPECT_EQ(repeated.status, 403) << repeated.body;
    EXPECT_EQ(error_code(repeated), "ALLOCATION_EXPIRED");
}

TEST(RestartTest, AllocationsSurviveARestartOnTheSameStore) {
    BrokerInstance broker(sandboxes("durable-", 5, 630000));
    auto participant = unique_participant("durable");
    nlohmann::json before;
    {
        auto client = broker.client();
        auto allocated = allocate(client, participant);
        ASSERT_EQ(allocated.status, 201) << allocated.body;
        before = allocated.json;
    }
    ASSERT_EQ(broker.stop(), 0) << broker.process().err();

    broker.start();
    auto client = broker.client();
    auto after = allocate(client, participant);

    EXPECT_EQ(after.status, 200) << after.body;
    EXPECT_EQ(after.json, before);
    auto fetched = get_sandbox(client, before["sandbox_id"], participant);
    EXPECT_EQ(fetched.status, 200) << fetched.body;
    EXPECT_EQ(fetched.json["status"], "allocated");
}

TEST(ShutdownTest, SigtermExitsZeroPromptlyWithAnIdleKeepAliveConnectionOpen) {
    BrokerInstance broker(sandboxes("bye-", 1, 640000));
    auto client = broker.client();
    ASSERT_EQ(client.get("/healthz").status, 200);
    ASSERT_TRUE(client.connected());

    auto started = steady_clock::now();
    int status = broker.stop();
    auto took = steady_clock::now() - started;

    EXPECT_EQ(status, 0) << broker.process().err();
    EXPECT_LT(took, std::chrono::seconds(3))
        << "SIGTERM took " << std::chrono::duration<double>(took).count() << " s";
}

}  // namespace
}  // namespace broker::e2e
