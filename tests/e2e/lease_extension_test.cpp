// End to end: POST /v1/sandboxes/{id}/extend against the real binary — the answers, the cap,
// the metric, and the expiry job (every second) leaving an extended lease alone past its old
// end and taking it back at its new one.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "e2e/broker_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

HttpResponse extend(HttpClient& client, const std::string& sandbox_id, const std::string& participant,
                    const std::string& body) {
    return client.post("/v1/sandboxes/" + sandbox_id + "/extend",
                       participant_headers(participant, {{"Content-Type", "application/json"}}), body);
}

// The auto_expiry job's last finish, from the admin job list (0 before its first run).
long expiry_last_finished(HttpClient& client) {
    const auto jobs = admin_get(client, "/v1/admin/jobs");
    if (jobs.status != 200) return 0;
    for (const auto& job : jobs.json["jobs"]) {
        if (job["name"] == "auto_expiry" && job["last_finished_at"].is_number())
            return job["last_finished_at"].get<long>();
    }
    return 0;
}

TEST(LeaseExtension, RefusalsSayWhyAndNothingChanges) {
    BrokerInstance broker(sandboxes("ext-refuse-", 3, 650000));
    auto client = broker.client();
    const auto owner = unique_participant("ext-owner");
    auto allocated = allocate(client, owner);
    ASSERT_EQ(allocated.status, 201) << allocated.body;
    const std::string id = allocated.json["sandbox_id"];
    const long expires_at = allocated.json["expires_at"];

    for (const char* body : {"", "not json", "[1]", "{}", R"({"seconds": 0})", R"({"seconds": -5})",
                             R"({"seconds": 1.5})", R"({"seconds": "60"})", R"({"seconds": 99999999999})"}) {
        auto r = extend(client, id, owner, body);
        EXPECT_EQ(r.status, 400) << body << ": " << r.body;
        EXPECT_EQ(error_code(r), "INVALID_REQUEST") << body;
    }
    auto intruder = extend(client, id, unique_participant("ext-intruder"), R"({"seconds": 60})");
    EXPECT_EQ(intruder.status, 403) << intruder.body;
    EXPECT_EQ(error_code(intruder), "NOT_SANDBOX_OWNER");
    auto unknown = extend(client, "999999999", owner, R"({"seconds": 60})");
    EXPECT_EQ(unknown.status, 404) << unknown.body;
    EXPECT_EQ(error_code(unknown), "SANDBOX_NOT_FOUND");
    auto no_token = client.post("/v1/sandboxes/" + id + "/extend", {{"X-Instruqt-Sandbox-ID", owner}},
                                R"({"seconds": 60})");
    EXPECT_EQ(no_token.status, 401) << no_token.body;
    EXPECT_EQ(get_sandbox(client, id, owner).json["expires_at"].get<long>(), expires_at);

    // Returned: not held any more.
    ASSERT_EQ(mark_for_deletion(client, id, owner).status, 200);
    auto returned = extend(client, id, owner, R"({"seconds": 60})");
    EXPECT_EQ(returned.status, 409) << returned.body;
    EXPECT_EQ(error_code(returned), "NOT_ALLOCATED");

    const std::string metrics = client.get("/metrics").body;
    EXPECT_EQ(metric_sample(metrics, "broker_lease_extensions_total{outcome=\"invalid\"}"), 9) << metrics;
    EXPECT_EQ(metric_sample(metrics, "broker_lease_extensions_total{outcome=\"not_owner\"}"), 1);
    EXPECT_EQ(metric_sample(metrics, "broker_lease_extensions_total{outcome=\"not_found\"}"), 1);
    EXPECT_EQ(metric_sample(metrics, "broker_lease_extensions_total{outcome=\"not_allocated\"}"), 1);
}

TEST(LeaseExtension, TheExpiryJobHonoursTheNewEndAndTheCapHolds) {
    auto env = serving_env();
    env["LAB_DURATION_SEC"] = "2";
    env["GRACE_PERIOD_SEC"] = "0";
    env["LAB_MAX_DURATION_SEC"] = "8";
    env["AUTO_EXPIRY_INTERVAL_SEC"] = "1";
    TestClock clock;
    BrokerInstance broker(sandboxes("ext-expiry-", 2, 651000), env, clock.flags());
    auto client = broker.client();
    const auto owner = unique_participant("ext-expiry");
    auto allocated = allocate(client, owner);
    ASSERT_EQ(allocated.status, 201) << allocated.body;
    const std::string id = allocated.json["sandbox_id"];
    const long allocated_at = allocated.json["allocated_at"];
    const long old_end = allocated.json["expires_at"];
    ASSERT_EQ(allocated_at, clock.now());
    ASSERT_EQ(old_end, allocated_at + 2);

    auto extended = extend(client, id, owner, R"({"seconds": 5})");
    ASSERT_EQ(extended.status, 200) << extended.body;
    EXPECT_EQ(extended.json["expires_at"].get<long>(), allocated_at + 7);
    EXPECT_EQ(extended.json["status"], "allocated");
    EXPECT_EQ(extended.json["sandbox_id"], id);
    EXPECT_EQ(extended.json["allocated_to_track"], owner);
    EXPECT_EQ(extended.json["capped"], false);
    EXPECT_EQ(extended.json["max_expires_at"].get<long>(), allocated_at + 8);

    // The expiry job runs past the old end (the moved clock wakes it): the sandbox is still held.
    clock.advance(std::chrono::seconds(4));
    ASSERT_TRUE(
        wait_until([&] { return expiry_last_finished(client) == clock.now(); }, std::chrono::seconds(10)))
        << "the expiry job did not run at " << clock.now();
    auto fetched = get_sandbox(client, id, owner);
    EXPECT_EQ(fetched.json["status"], "allocated") << fetched.body;
    EXPECT_EQ(fetched.json["expires_at"].get<long>(), allocated_at + 7);

    // Past the cap: cut at it; at the cap: 409 EXTENSION_LIMIT.
    auto capped = extend(client, id, owner, R"({"seconds": 3600})");
    ASSERT_EQ(capped.status, 200) << capped.body;
    EXPECT_EQ(capped.json["expires_at"].get<long>(), allocated_at + 8);
    EXPECT_EQ(capped.json["capped"], true);
    auto refused = extend(client, id, owner, R"({"seconds": 1})");
    EXPECT_EQ(refused.status, 409) << refused.body;
    EXPECT_EQ(error_code(refused), "EXTENSION_LIMIT");

    // A second before the new end the expiry job leaves it; at the new end it takes it back and
    // the lease is not held any more.
    clock.advance(std::chrono::seconds(3));
    ASSERT_TRUE(
        wait_until([&] { return expiry_last_finished(client) == clock.now(); }, std::chrono::seconds(10)));
    EXPECT_EQ(get_sandbox(client, id, owner).json["status"], "allocated");
    clock.advance(std::chrono::seconds(1));
    ASSERT_TRUE(
        wait_until([&] { return get_sandbox(client, id, owner).json["status"] == "pending_deletion"; },
                   std::chrono::seconds(10)));
    auto late = extend(client, id, owner, R"({"seconds": 1})");
    EXPECT_EQ(late.status, 409) << late.body;
    EXPECT_EQ(error_code(late), "NOT_ALLOCATED");

    const auto history = admin_get(client, "/v1/admin/sandboxes/" + id).json["history"];
    int extensions = 0;
    for (const auto& event : history) {
        if (event["reason"].get<std::string>().starts_with("extended: ")) ++extensions;
    }
    EXPECT_EQ(extensions, 2) << history.dump();

    const std::string metrics = client.get("/metrics").body;
    EXPECT_EQ(metric_sample(metrics, "broker_lease_extensions_total{outcome=\"extended\"}"), 1);
    EXPECT_EQ(metric_sample(metrics, "broker_lease_extensions_total{outcome=\"capped\"}"), 1);
    EXPECT_EQ(metric_sample(metrics, "broker_lease_extensions_total{outcome=\"limit\"}"), 1);
}

}  // namespace
}  // namespace broker::e2e
