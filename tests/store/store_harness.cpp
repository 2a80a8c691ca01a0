// The registry of stores the conformance suite runs against, and the shared fixture.
#include "store_harness.hpp"

#include <cstdio>
#include <cstdlib>

#include "dynamo_harness.hpp"
#include "postgres_harness.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace broker::testing {
namespace {

class SqliteHarness final : public StoreHarness {
  public:
    SqliteHarness() { open(); }
    const StoreHandle& handle() override { return store_; }
    void reopen() override {
        store_ = {};
        open();
    }
    void record_schema(int version, int compatible_from) override {
        store_ = {};
        {
            sqlite::Connection raw(dir_.file("broker.db"), sqlite::Connection::Mode::read_write, 10'000);
            raw.exec("PRAGMA user_version = " + std::to_string(version));
            raw.exec("UPDATE schema_compat SET compatible_from = " + std::to_string(compatible_from));
        }
        open();
    }

  private:
    void open() {
        store_ = StoreHandle(std::make_unique<SqliteStore>(SqliteOptions{.path = dir_.file("broker.db")}));
    }

    TempDir dir_;
    StoreHandle store_;
};

std::vector<StoreFactory> make_factories() {
    std::vector<StoreFactory> factories;
    factories.push_back({"Sqlite", [] { return std::make_unique<SqliteHarness>(); }, ""});

    // PostgreSQL joins when BROKER_TEST_POSTGRES_URL names a server (scripts/test.sh starts a
    // throw-away cluster); without it its tests are reported as skipped, not left out.
    const char* url = std::getenv("BROKER_TEST_POSTGRES_URL");
    if (url && *url) {
        factories.push_back({"Postgres", [u = std::string(url)] { return make_postgres_harness(u); }, ""});
    } else {
        factories.push_back(
            {"Postgres", nullptr,
             "BROKER_TEST_POSTGRES_URL is not set (scripts/pg-test-cluster.sh start prints one)"});
    }

    // DynamoDB joins when BROKER_TEST_DYNAMODB_URL names an emulator (scripts/test.sh starts
    // dynalite); each test gets a table of its own.
    if (const std::string dynamo = test_dynamodb_url(); !dynamo.empty()) {
        factories.push_back({"Dynamo", [dynamo] { return make_dynamo_harness(dynamo); }, ""});
    } else {
        factories.push_back({"Dynamo", nullptr,
                             "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)"});
    }
    return factories;
}

}  // namespace

const std::vector<StoreFactory>& store_factories() {
    static const std::vector<StoreFactory> factories = make_factories();
    return factories;
}

void StoreConformance::SetUp() {
    if (!GetParam().skip_reason.empty()) GTEST_SKIP() << GetParam().skip_reason;
    harness_ = GetParam().make();
    store().migrate();
    prepare();
}

void StoreConformance::seed(int count, const std::string& name_prefix, const std::string& id_prefix) {
    std::vector<ProviderSandbox> sandboxes;
    for (int i = 0; i < count; ++i) {
        char number[16];
        std::snprintf(number, sizeof number, "%05d", i);
        sandboxes.push_back({id_prefix + number, name_prefix + number,
                             "identity/accounts/uuid-" + std::string(number), "sfdc-" + std::string(number)});
    }
    const auto summary = store().upsert_provider_sandboxes(sandboxes, kNow - 3600);
    ASSERT_EQ(summary.inserted, count);
}

void StoreConformance::seed_named(const std::vector<std::string>& names) {
    std::vector<ProviderSandbox> sandboxes;
    for (std::size_t i = 0; i < names.size(); ++i) {
        sandboxes.push_back(
            {"named-" + std::to_string(i), names[i], "identity/accounts/n" + std::to_string(i), ""});
    }
    const auto summary = store().upsert_provider_sandboxes(sandboxes, kNow - 3600);
    ASSERT_EQ(summary.inserted, static_cast<std::int64_t>(names.size()));
}

AllocateRequest StoreConformance::request(const std::string& participant, const std::string& key,
                                          const std::string& prefix, UnixSeconds now) const {
    AllocateRequest r;
    r.participant_id = participant;
    r.idempotency_key = key.empty() ? participant : key;
    r.track_name = "track-of-" + participant;
    r.name_prefix = prefix;
    r.now = now;
    r.lease = lease_;
    r.max_per_participant = max_per_participant_;
    return r;
}

AllocateResult StoreConformance::allocate(const std::string& participant, const std::string& key,
                                          const std::string& prefix, UnixSeconds now) {
    return store().allocate(request(participant, key, prefix, now));
}

MarkResult StoreConformance::mark(const std::string& sandbox_id, const std::string& participant,
                                  UnixSeconds now) {
    return store().mark_for_deletion({sandbox_id, participant, now, lease_});
}

}  // namespace broker::testing
