// What only the PostgreSQL store has: the bounded pool, statement timeouts, recovery after
// lost connections, SKIP LOCKED allocation, the unique-key race, migrations under an advisory
// lock, and a 200k-sandbox sync. Runs against BROKER_TEST_POSTGRES_URL; skipped without it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <pqxx/pqxx>
#include <thread>

#include "core/errors.hpp"
#include "postgres_harness.hpp"
#include "sql/postgres_queries.hpp"
#include "sql/postgres_schema.hpp"
#include "store/postgres/connection_pool.hpp"
#include "store/postgres/schema.hpp"
#include "sync_pass.hpp"

namespace broker::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr UnixSeconds kNow = 1'700'000'000;

class PostgresStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (test_postgres_url().empty()) GTEST_SKIP() << "BROKER_TEST_POSTGRES_URL is not set";
        schema_ = std::make_unique<PostgresSchema>(test_postgres_url());
    }

    std::unique_ptr<PostgresStore> open(PostgresOptions options) {
        auto store = std::make_unique<PostgresStore>(std::move(options));
        store->migrate();
        return store;
    }
    std::unique_ptr<PostgresStore> open() { return open(schema_->options()); }

    static void seed(Store& store, int count) {
        std::vector<ProviderSandbox> list;
        for (int i = 0; i < count; ++i) {
            char n[16];
            std::snprintf(n, sizeof n, "%06d", i);
            list.push_back(
                {std::string("id-") + n, std::string("sbx-") + n, std::string("identity/accounts/") + n, ""});
        }
        ASSERT_EQ(store.upsert_provider_sandboxes(list, kNow - 60).inserted, count);
    }

    AllocateRequest request(const std::string& participant) const {
        AllocateRequest r;
        r.participant_id = participant;
        r.idempotency_key = participant;
        r.now = kNow;
        return r;
    }

    // A connection of the test's own in the store's schema, holding a transaction open.
    struct Locker {
        explicit Locker(const PostgresSchema& schema) : conn(schema.url()), tx(conn) {
            tx.exec("SET search_path TO " + tx.quote_name(schema.name()));
        }
        pqxx::connection conn;
        pqxx::work tx;
    };

    std::unique_ptr<PostgresSchema> schema_;
};

TEST_F(PostgresStoreTest, AllocationSkipsARowAnotherTransactionHoldsInsteadOfWaiting) {
    auto store = open();
    seed(*store, 3);
    Locker locker(*schema_);
    locker.tx.exec("SELECT 1 FROM sandboxes WHERE sandbox_id = 'id-000000' FOR UPDATE");

    const auto start = steady_clock::now();
    auto r = store->allocate(request("p1"));
    EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
    ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(r.sandbox->sandbox_id, "id-000001");  // the first by name is locked: the next one
    EXPECT_EQ(r.conflicts, 0);                      // skipped, not lost: no race was lost
}

TEST_F(PostgresStoreTest, ATwinThatCommitsFirstMakesTheAllocationAnswerExisting) {
    auto store = open();
    seed(*store, 3);
    // An uncommitted allocation of the first sandbox under key "k" by the same participant:
    // the store cannot see it, takes the second sandbox, and the unique index makes it wait.
    Locker twin(*schema_);
    twin.tx.exec(
        "UPDATE sandboxes SET status = 'allocated', idempotency_key = 'k', allocated_to_track = 'p', "
        "allocated_at = " +
        std::to_string(kNow) + ", version = version + 1 WHERE sandbox_id = 'id-000000'");
    auto req = request("p");
    req.idempotency_key = "k";
    auto pending = std::async(std::launch::async, [&] { return store->allocate(req); });
    EXPECT_EQ(pending.wait_for(milliseconds(300)), std::future_status::timeout);
    twin.tx.commit();

    auto r = pending.get();
    ASSERT_EQ(r.outcome, AllocateOutcome::existing);
    EXPECT_EQ(r.sandbox->sandbox_id, "id-000000");
    EXPECT_EQ(r.conflicts, 1);  // lost to the twin once, then decided on what it left
    EXPECT_EQ(store->count_by_status()[SandboxStatus::allocated], 1);
    EXPECT_EQ(store->get("id-000001")->status, SandboxStatus::available);
}

TEST_F(PostgresStoreTest, AFullPoolAnswersOverloadedWithinTheWait) {
    auto options = schema_->options();
    options.pool_size = 1;
    options.pool_wait_ms = 150;
    auto store = open(options);
    seed(*store, 2);
    auto held = store->allocate(request("owner"));
    ASSERT_EQ(held.outcome, AllocateOutcome::allocated);

    // The only connection waits on a row lock inside mark_for_deletion.
    Locker locker(*schema_);
    locker.tx.exec("SELECT 1 FROM sandboxes WHERE sandbox_id = '" + held.sandbox->sandbox_id +
                   "' FOR UPDATE");
    auto blocked = std::async(std::launch::async, [&] {
        return store->mark_for_deletion({held.sandbox->sandbox_id, "owner", kNow, {}});
    });
    std::this_thread::sleep_for(milliseconds(100));  // real time: the server must see the lock wait

    const auto start = steady_clock::now();
    EXPECT_THROW(store->get("id-000001"), Overloaded);
    const auto waited = steady_clock::now() - start;
    EXPECT_GE(waited, milliseconds(140));
    EXPECT_LT(waited, milliseconds(1500));
    EXPECT_EQ(store->pool_stats().timeouts, 1u);

    locker.tx.commit();
    EXPECT_EQ(blocked.get().outcome, MarkOutcome::marked);
    EXPECT_TRUE(store->get("id-000001"));
}

// Under a burst, a caller that finds the pool full waits in line: a connection given back
// goes to the caller waiting longest, not to one that arrives just then, so no caller is
// passed over until its wait runs out.
TEST_F(PostgresStoreTest, AFreedConnectionGoesToTheCallerWaitingLongestNotToANewcomer) {
    auto options = schema_->options();
    options.pool_size = 1;
    options.pool_wait_ms = 20'000;
    pg::ConnectionPool pool(options);
    std::optional<pg::ConnectionPool::Lease> held;
    held.emplace(pool.acquire());
    std::atomic<bool> waiter_served{false};
    std::thread waiter([&] {
        auto lease = pool.acquire();
        waiter_served = true;
    });
    while (pool.stats().waiting < 1) std::this_thread::yield();
    held.reset();                    // given back while the waiter is in line,
    auto newcomer = pool.acquire();  // so a caller arriving now comes after it
    EXPECT_TRUE(waiter_served);
    waiter.join();
    EXPECT_EQ(pool.stats().timeouts, 0u);
    EXPECT_EQ(pool.stats().open, 1u);
}

TEST_F(PostgresStoreTest, AStatementPastItsTimeoutFailsAndTheStoreCarriesOn) {
    auto options = schema_->options();
    options.statement_timeout_ms = 200;
    auto store = open(options);
    seed(*store, 2);
    auto held = store->allocate(request("owner"));
    Locker locker(*schema_);
    locker.tx.exec("SELECT 1 FROM sandboxes WHERE sandbox_id = '" + held.sandbox->sandbox_id +
                   "' FOR UPDATE");

    const auto start = steady_clock::now();
    EXPECT_THROW(store->mark_for_deletion({held.sandbox->sandbox_id, "owner", kNow, {}}), StoreUnavailable);
    EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
    locker.tx.abort();

    EXPECT_EQ(store->mark_for_deletion({held.sandbox->sandbox_id, "owner", kNow, {}}).outcome,
              MarkOutcome::marked);
}

TEST_F(PostgresStoreTest, ConnectionsKilledByTheServerAreReplaced) {
    auto options = schema_->options();
    options.application_name = "broker-test-" + schema_->name();
    auto store = open(options);
    seed(*store, 5);
    // Several pooled connections, as under load.
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 4; ++i)
            threads.emplace_back([&, i] { store->allocate(request("p" + std::to_string(i))); });
    }
    ASSERT_GE(store->pool_stats().idle, 1u);

    // What a server restart does to every open connection.
    pqxx::connection admin(schema_->url());
    pqxx::nontransaction tx(admin);
    const auto killed =
        tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
                tx.quote(options.application_name));
    ASSERT_GE(killed.size(), 1u);
    std::this_thread::sleep_for(milliseconds(100));  // real time: the backends must exit

    // A stale pooled connection is noticed, dropped with the other idle ones, and the call
    // is served on a fresh connection.
    auto again = store->allocate(request("p0"));
    EXPECT_EQ(again.outcome, AllocateOutcome::existing);
    EXPECT_GE(store->pool_stats().discarded, 1u);
    EXPECT_NO_THROW(store->ping());
    EXPECT_EQ(store->count_by_status()[SandboxStatus::allocated], 4);
}

TEST_F(PostgresStoreTest, AnUnreachableServerFailsFastWithStoreUnavailable) {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    PostgresOptions options;
    options.url = "postgresql://broker@127.0.0.1:1/none";
    options.connect_timeout_sec = 2;
    PostgresStore store(options);  // constructing never connects
    const auto start = steady_clock::now();
    EXPECT_THROW(store.ping(), StoreUnavailable);
    EXPECT_THROW(store.allocate(request("p")), StoreUnavailable);
    EXPECT_LT(steady_clock::now() - start, milliseconds(3000));
    EXPECT_EQ(store.pool_stats().open, 0u);  // failed opens give their slot back
}

TEST_F(PostgresStoreTest, PingFailsOnADatabaseThatWasNeverMigrated) {
    PostgresStore store(schema_->options());
    EXPECT_THROW(store.ping(), StoreUnavailable);
    store.migrate();
    EXPECT_NO_THROW(store.ping());
}

TEST_F(PostgresStoreTest, MigrationsFromManyProcessesAtOnceApplyOnce) {
    std::vector<std::unique_ptr<PostgresStore>> stores;
    for (int i = 0; i < 4; ++i) stores.push_back(std::make_unique<PostgresStore>(schema_->options()));
    {
        std::vector<std::jthread> threads;
        for (auto& s : stores) threads.emplace_back([&s] { s->migrate(); });
    }
    pqxx::connection conn(schema_->url());
    pqxx::nontransaction tx(conn);
    const auto rows = tx.exec("SELECT count(*), max(version) FROM " + tx.quote_name(schema_->name()) +
                              ".schema_migrations");
    EXPECT_EQ(rows[0][0].as<int>(), pg::latest_schema_version());
    EXPECT_EQ(rows[0][1].as<int>(), pg::latest_schema_version());
    EXPECT_NO_THROW(stores[0]->migrate());
}

TEST_F(PostgresStoreTest, RefusesASchemaNewerThanItKnows) {
    auto store = open();
    schema_->exec("INSERT INTO schema_migrations (version) VALUES (" +
                  std::to_string(pg::latest_schema_version() + 1) + ")");
    EXPECT_THROW(store->migrate(), StoreUnavailable);
}

TEST_F(PostgresStoreTest, SyncsTwoHundredThousandSandboxesWithoutLockingThePool) {
    auto store = open();
    constexpr int kCount = 200'000;
    std::vector<ProviderSandbox> list;
    list.reserve(kCount);
    for (int i = 0; i < kCount; ++i) {
        const std::string n = std::to_string(1'000'000 + i);
        list.push_back({n, "sandbox-" + n, "identity/accounts/" + n, "sfdc-" + n});
    }
    // In parts, as the sync job streams the provider's list.
    constexpr std::size_t kPart = 10'000;
    auto first = sync_in_one_pass(*store, list, kNow, kPart);
    EXPECT_EQ(first.upsert.inserted, kCount);
    EXPECT_EQ(first.marked_stale, 0);

    // The same list less one, again: unchanged rows are not written (so an allocation running
    // meanwhile is never starved by SKIP LOCKED), the missing one becomes stale.
    list.pop_back();
    for (int round = 0; round < 2; ++round) {
        auto again = sync_in_one_pass(*store, list, kNow + 60 + round, kPart);
        EXPECT_EQ(again.upsert.inserted, 0);
        EXPECT_EQ(again.upsert.refreshed, kCount - 1);
        EXPECT_EQ(again.marked_stale, round == 0 ? 1 : 0);
    }
    EXPECT_EQ(store->count_by_status()[SandboxStatus::stale], 1);
    EXPECT_EQ(store->get(std::to_string(1'000'000 + kCount - 1))->status, SandboxStatus::stale);
}

TEST_F(PostgresStoreTest, UpsertCountsARepeatedIdOnce) {
    auto store = open();
    const std::vector<ProviderSandbox> list = {
        {"a", "first", "x", ""}, {"b", "b", "y", ""}, {"a", "last", "x", ""}};
    const auto summary = store->upsert_provider_sandboxes(list, kNow);
    EXPECT_EQ(summary.inserted, 2);
    EXPECT_EQ(summary.refreshed, 1);  // the repeat finds it available, as a second pass would
    EXPECT_EQ(store->get("a")->name, "last");
}

TEST_F(PostgresStoreTest, NamesWithQuotesBackslashesAndBracesSurviveTheArrayParameter) {
    auto store = open();
    const std::vector<ProviderSandbox> list = {{"q\"1", "a \"quoted\" name", "{x,y}", "back\\slash"},
                                               {"q2", "NULL", "", "  spaced  "}};
    ASSERT_EQ(store->upsert_provider_sandboxes(list, kNow).inserted, 2);
    auto a = store->get("q\"1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->name, "a \"quoted\" name");
    EXPECT_EQ(a->external_id, "{x,y}");
    EXPECT_EQ(a->sfdc_account_id, "back\\slash");
    auto b = store->get("q2");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "NULL");
    EXPECT_EQ(b->sfdc_account_id, "  spaced  ");
}

TEST_F(PostgresStoreTest, APrefixThatIsNotUtf8MatchesNothingButStillFindsTheHolding) {
    auto store = open();
    seed(*store, 2);
    auto r = request("p");
    r.name_prefix = "sbx-\xFF";
    EXPECT_EQ(store->allocate(r).outcome, AllocateOutcome::no_prefix_match);
    r.name_prefix = "";
    ASSERT_EQ(store->allocate(r).outcome, AllocateOutcome::allocated);
    r.name_prefix = "\xC0";
    EXPECT_EQ(store->allocate(r).outcome, AllocateOutcome::existing);
}

// Right after an import the statistics say that no sandbox is allocated, so every partial
// index on allocated rows looks empty. The participant's holdings must still be read through
// an index on the participant, not by reading every allocated row, in the plan a prepared
// statement keeps (the generic one).
TEST_F(PostgresStoreTest, HoldingsAreReadThroughTheParticipantIndexWhileStatisticsSayNothingIsAllocated) {
    auto store = open();
    seed(*store, 2000);  // enough that reading the table is not the cheapest plan
    schema_->exec("ANALYZE sandboxes");
    for (int i = 0; i < 200; ++i) {
        ASSERT_EQ(store->allocate(request("p" + std::to_string(i))).outcome, AllocateOutcome::allocated);
    }
    Locker db(*schema_);
    db.tx.exec("SET LOCAL plan_cache_mode = force_generic_plan");
    const auto plan_of = [&](std::string_view name, std::string_view text, const std::string& args) {
        db.tx.exec("PREPARE " + std::string(name) + " AS " + std::string(text));
        std::string plan;
        for (const auto& row : db.tx.exec("EXPLAIN EXECUTE " + std::string(name) + args))
            plan += row[0].as<std::string>() + "\n";
        return plan;
    };
    for (const auto& plan :
         {plan_of("holdings", pg::sql::kHoldings, "('p7')"),
          plan_of("allocate_from", pg::sql::kAllocateFrom, "('p7', '', 'p7', 1, 2, 1, '', '')"),
          plan_of("allocate_range", pg::sql::kAllocateRange, "('p7', '', 'p7', 1, 2, 1, 'sbx-', 'sbx.')")}) {
        EXPECT_NE(plan.find("Index Cond: (allocated_to_track = $1)"), std::string::npos) << plan;
        EXPECT_EQ(plan.find("Filter: (allocated_to_track = $1)"), std::string::npos) << plan;
    }
    // A mark or an extension changes the one row its key names.
    for (const auto& plan : {plan_of("mark_at_version", pg::sql::kMarkAtVersion, "('id-000001', 'p7', 1, 1)"),
                             plan_of("extend", pg::sql::kExtend, "('id-000001', 'p7', 1, 1, 2, 3, 'r')")}) {
        EXPECT_NE(plan.find("Index Cond: (sandbox_id = $1)"), std::string::npos) << plan;
    }
}

// Allocations made before schema step 3 have no participant slot. They still count toward
// the limit, and new allocations take the free slots around them.
TEST_F(PostgresStoreTest, HoldingsWithoutASlotCountTowardTheLimit) {
    auto store = open();
    seed(*store, 6);
    auto r = request("p");
    r.max_per_participant = 3;
    r.idempotency_key = "a";
    ASSERT_EQ(store->allocate(r).outcome, AllocateOutcome::allocated);
    r.idempotency_key = "b";
    ASSERT_EQ(store->allocate(r).outcome, AllocateOutcome::allocated);
    schema_->exec("UPDATE sandboxes SET participant_slot = NULL WHERE allocated_to_track = 'p'");

    r.idempotency_key = "c";
    const auto third = store->allocate(r);
    ASSERT_EQ(third.outcome, AllocateOutcome::allocated);
    {
        Locker look(*schema_);
        EXPECT_EQ(look.tx
                      .exec1("SELECT count(*) FROM sandboxes WHERE participant_slot IS NULL "
                             "AND status = 'allocated'")[0]
                      .as<int>(),
                  2);
        EXPECT_EQ(look.tx
                      .exec1("SELECT participant_slot FROM sandboxes WHERE sandbox_id = " +
                             look.tx.quote(third.sandbox->sandbox_id))[0]
                      .as<int>(),
                  0);
    }
    r.idempotency_key = "d";
    EXPECT_EQ(store->allocate(r).outcome, AllocateOutcome::limit_reached);
    // Under a limit of 1, the oldest of several holdings answers a new key.
    r.max_per_participant = 1;
    r.idempotency_key = "e";
    const auto one = store->allocate(r);
    ASSERT_EQ(one.outcome, AllocateOutcome::existing);
    EXPECT_EQ(one.sandbox->idempotency_key, "a");
    EXPECT_EQ(store->count_by_status()[SandboxStatus::allocated], 3);
}

// The pool_counts trigger functions of a schema, as many as there are and how many of them
// carry no settings of their own (pg_proc.proconfig: a SET clause).
struct CountFunctions {
    int total = 0;
    int without_settings = 0;
};

CountFunctions count_functions(pqxx::transaction_base& tx, const std::string& schema) {
    const auto row = tx.exec1(
        "SELECT count(*), count(*) FILTER (WHERE p.proconfig IS NULL) FROM pg_catalog.pg_proc p "
        "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = " +
        tx.quote(schema) +
        " AND p.proname IN ('pool_counts_inserted', 'pool_counts_deleted', 'pool_counts_updated')");
    return {row[0].as<int>(), row[1].as<int>()};
}

// The schema's sandboxes counted by status from the rows themselves.
StatusCounts real_counts(pqxx::transaction_base& tx, const std::string& schema) {
    StatusCounts counts;
    for (const auto& row :
         tx.exec("SELECT status, count(*) FROM " + tx.quote_name(schema) + ".sandboxes GROUP BY status")) {
        counts[*parse_status(row[0].as<std::string>())] = row[1].as<std::int64_t>();
    }
    return counts;
}

void expect_same_counts(const StatusCounts& kept, const StatusCounts& real, const std::string& after) {
    for (const SandboxStatus status : kAllStatuses) {
        EXPECT_EQ(kept[status], real[status]) << to_string(status) << " after " << after;
    }
}

// The count triggers name their schema's table: a writer whose search_path is elsewhere (a
// schema with a pool_counts of its own, public, nothing at all) that changes this schema's
// sandboxes by their qualified name moves this schema's counts, and only those. The functions
// set no search_path of their own to get there.
TEST_F(PostgresStoreTest, TheCountsFollowAWriterWhoseSearchPathIsElsewhere) {
    auto store = open();
    seed(*store, 4);
    PostgresSchema elsewhere(test_postgres_url());
    auto other = open(elsewhere.options());
    seed(*other, 2);

    pqxx::connection conn(schema_->url());
    pqxx::nontransaction tx(conn);
    const std::string here = tx.quote_name(schema_->name()) + ".sandboxes";
    const std::vector<std::string> paths = {tx.quote_name(elsewhere.name()), "public", "''"};
    for (std::size_t i = 0; i < paths.size(); ++i) {
        SCOPED_TRACE("search_path " + paths[i]);
        tx.exec("SET search_path TO " + paths[i]);
        const std::string w = "'w-" + std::to_string(i);
        tx.exec("INSERT INTO " + here + " (sandbox_id, status, created_at, updated_at) VALUES (" + w +
                "-1', 'available', 1, 1), (" + w + "-2', 'available', 1, 1)");
        tx.exec("UPDATE " + here +
                " SET status = 'allocated', allocated_to_track = sandbox_id, idempotency_key = sandbox_id "
                "WHERE sandbox_id IN (" +
                w + "-1', 'id-00000" + std::to_string(i) + "')");
        tx.exec("DELETE FROM " + here + " WHERE sandbox_id = " + w + "-2'");
        expect_same_counts(store->count_by_status(), real_counts(tx, schema_->name()), "a write");
    }
    const StatusCounts counts = store->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 1);
    EXPECT_EQ(counts[SandboxStatus::allocated], 6);
    // The other schema's counts did not move.
    EXPECT_EQ(other->count_by_status()[SandboxStatus::available], 2);
    EXPECT_EQ(other->count_by_status()[SandboxStatus::allocated], 0);

    const CountFunctions functions = count_functions(tx, schema_->name());
    EXPECT_EQ(functions.total, 3);
    EXPECT_EQ(functions.without_settings, 3);
}

// A store at schema version 10 (the count functions with their `SET search_path FROM
// CURRENT`) keeps its counts through step 11, which replaces them with functions that set
// nothing, and the replaced ones keep counting.
TEST_F(PostgresStoreTest, StepElevenReplacesTheCountFunctionsAndTheCountsStayTrue) {
    {
        pqxx::connection conn(schema_->url());
        pqxx::work tx(conn);
        tx.exec("SET LOCAL search_path TO " + tx.quote_name(schema_->name()));
        tx.exec(std::string(pg::schema_sql::kCreateMigrationsTable));
        const auto steps = pg::schema_steps();
        ASSERT_GE(steps.size(), 11u);
        for (int version = 1; version <= 10; ++version) {
            tx.exec(std::string(steps[static_cast<std::size_t>(version) - 1].sql));
            tx.exec("INSERT INTO schema_migrations (version) VALUES (" + std::to_string(version) + ")");
        }
        // What a store of that version holds, written as the release before writes it.
        tx.exec(
            "INSERT INTO sandboxes (sandbox_id, name, status, created_at, updated_at) "
            "SELECT 'old-' || i, 'old-' || i, 'available', 1, 1 FROM generate_series(1, 6) AS i");
        tx.exec(
            "UPDATE sandboxes SET status = 'allocated', allocated_to_track = sandbox_id, "
            "idempotency_key = sandbox_id WHERE sandbox_id IN ('old-1', 'old-2', 'old-3')");
        tx.exec("UPDATE sandboxes SET status = 'pending_deletion' WHERE sandbox_id = 'old-3'");
        tx.exec("DELETE FROM sandboxes WHERE sandbox_id = 'old-6'");
        const CountFunctions before = count_functions(tx, schema_->name());
        EXPECT_EQ(before.total, 3);
        EXPECT_EQ(before.without_settings, 0);  // step 7's functions set search_path
        tx.commit();
    }

    auto store = std::make_unique<PostgresStore>(schema_->options());
    const MigrationReport report = store->migrate();
    EXPECT_EQ(report.from_version, 10);
    EXPECT_EQ(report.to_version, pg::latest_schema_version());

    pqxx::connection conn(schema_->url());
    pqxx::nontransaction tx(conn);
    const CountFunctions after = count_functions(tx, schema_->name());
    EXPECT_EQ(after.total, 3);
    EXPECT_EQ(after.without_settings, 3);

    StatusCounts counts = store->count_by_status();
    expect_same_counts(counts, real_counts(tx, schema_->name()), "the migration");
    EXPECT_EQ(counts[SandboxStatus::available], 2);
    EXPECT_EQ(counts[SandboxStatus::allocated], 2);
    EXPECT_EQ(counts[SandboxStatus::pending_deletion], 1);

    // The replaced functions count the inserts, updates and deletes after it.
    seed(*store, 3);
    ASSERT_EQ(store->allocate(request("p1")).outcome, AllocateOutcome::allocated);
    tx.exec("DELETE FROM " + tx.quote_name(schema_->name()) + ".sandboxes WHERE sandbox_id = 'old-5'");
    counts = store->count_by_status();
    expect_same_counts(counts, real_counts(tx, schema_->name()), "writes after the migration");
    EXPECT_EQ(counts[SandboxStatus::available], 3);
    EXPECT_EQ(counts[SandboxStatus::allocated], 3);
}

}  // namespace
}  // namespace broker::testing
