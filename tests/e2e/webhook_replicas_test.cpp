// Webhook delivery across processes on one PostgreSQL schema: subscriptions made through a
// `serve` replica, deliveries made by a separate `worker`. Allocations and returns through the
// API arrive signed, each at least once and in order per sandbox, though the worker is
// `kill -9`ed mid-delivery and started again.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/sim_process.hpp"
#include "e2e/webhook_receiver.hpp"

namespace broker::e2e {
namespace {

using std::chrono::seconds;
using webhook_receiver::Receiver;

const std::string kProviderToken = "wh-pg-sim-token-3";

TEST(WebhookReplicas, AServeAndAWorkerOnPostgresDeliverEveryEventInOrderAcrossAKill9) {
    constexpr int kPool = 100;
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    TempDir dir;
    PgSchema db(*url);
    SimProcess sim(
        {"--sandboxes", std::to_string(kPool), "--name-prefix", "wh-pg-", "--token", kProviderToken});
    Environment settings = fast_jobs_settings(sim.url() + "/v2", kProviderToken, 2);
    settings["DB_POOL_SIZE"] = "4";
    settings["WEBHOOK_TIMEOUT_SEC"] = "2";
    settings["WEBHOOK_POLL_MS"] = "50";
    settings["WEBHOOK_RETRY_BASE_SEC"] = "0.05";
    settings["WEBHOOK_RETRY_CAP_SEC"] = "1";
    settings["WEBHOOK_MAX_IN_FLIGHT"] = "16";
    const Environment env = db.env(settings);
    const auto migrated = run_broker_command({"migrate", "--store", db.url()}, env, dir.path());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
    BrokerRole serve("serve", db.url(), env, dir.path());
    auto worker = std::make_unique<BrokerRole>("worker", db.url(), env, dir.path());
    const auto available = [&] {
        return db.scalar("SELECT count(*) FROM sandboxes WHERE status = 'available'");
    };
    ASSERT_TRUE(wait_until([&] { return available() == kPool; }, seconds(60)))
        << available() << " of " << kPool << " after the first sync\n"
        << worker->err();

    // A receiver that fails a share of attempts, subscribed through the replica.
    Receiver receiver(0.2);
    auto http = serve.client();
    const nlohmann::json body = {{"url", receiver.url()},
                                 {"event_types", {"sandbox.allocated", "sandbox.returned"}},
                                 {"description", "billing"}};
    const auto created = http.post(
        "/v1/admin/webhooks",
        {{"Authorization", "Bearer " + kAdminToken}, {"Content-Type", "application/json"}}, body.dump());
    ASSERT_EQ(created.status, 201) << created.body;
    receiver.set_secret(created.json.value("secret", ""));

    // The worker's first attempts are held, then it is killed with them in flight.
    receiver.hold();
    std::vector<std::string> ids;
    for (int i = 0; i < kPool; ++i) {
        const std::string participant = unique_participant("wh-pg");
        const auto res = allocate(http, participant);
        ASSERT_EQ(res.status, 201) << res.body;
        const std::string id = res.json.value("sandbox_id", "");
        ASSERT_EQ(mark_for_deletion(http, id, participant).status, 200);
        ids.push_back(id);
    }
    ASSERT_TRUE(wait_until([&] { return receiver.waiting() >= 4; }, seconds(20))) << receiver.waiting();
    worker->kill9();
    receiver.release(/*drop=*/true);
    EXPECT_TRUE(receiver.delivered().empty());

    // Another worker on the same schema: the dead one's claims run out and are sent again.
    worker = std::make_unique<BrokerRole>("worker", db.url(), env, dir.path());
    ASSERT_TRUE(wait_until([&] { return receiver.delivered().size() == 2u * kPool; }, seconds(90)))
        << receiver.delivered().size() << " of " << 2 * kPool << " delivered\n"
        << worker->err();

    std::set<std::string> seen;
    std::map<std::string, std::vector<std::string>> types_of;  // sandbox -> types, first 2xx order
    for (const auto& r : receiver.receipts()) {
        EXPECT_TRUE(r.signature_ok) << "event " << r.id;
        if (!r.answered_ok || !seen.insert(r.id).second) continue;
        types_of[r.sandbox_id].push_back(r.type);
    }
    ASSERT_EQ(types_of.size(), static_cast<std::size_t>(kPool));
    const std::vector<std::string> in_order{"sandbox.allocated", "sandbox.returned"};
    for (const auto& id : ids) EXPECT_EQ(types_of[id], in_order) << id;
    // The store records each delivery delivered once the attempts in flight are answered, and
    // holds no event twice.
    const auto delivered = [&] {
        return db.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'");
    };
    EXPECT_TRUE(wait_until([&] { return delivered() == 2 * kPool; }, seconds(10))) << delivered();
    EXPECT_EQ(db.scalar("SELECT count(*) FROM webhook_deliveries"), 2 * kPool) << "no event enqueued twice";
}

}  // namespace
}  // namespace broker::e2e
