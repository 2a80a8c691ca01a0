// SQLite-specific store tests: the query plans allocation depends on, group commit and its
// failure modes, migrations, and states that only the later jobs create (set by direct SQL).
#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "core/errors.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/sandbox_sql.hpp"
#include "store/sqlite/schema.hpp"
#include "sync_pass.hpp"
#include "temp_dir.hpp"

namespace broker::testing {
namespace {

using sqlite::Connection;
constexpr UnixSeconds kNow = 1'700'000'000;

// Waits (bounded) until `done` holds; the writer thread moves on its own schedule.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

std::vector<ProviderSandbox> pool(int count, const std::string& prefix = "sbx-") {
    std::vector<ProviderSandbox> list;
    for (int i = 0; i < count; ++i) {
        const std::string n = std::to_string(100000 + i);
        list.push_back({n, prefix + n, "identity/accounts/" + n, ""});
    }
    return list;
}

AllocateRequest request(const std::string& participant, const std::string& prefix = "") {
    AllocateRequest r;
    r.participant_id = participant;
    r.idempotency_key = participant;
    r.name_prefix = prefix;
    r.now = kNow;
    return r;
}

SqliteOptions options_with(int busy_timeout_ms) {
    SqliteOptions options;
    options.busy_timeout_ms = busy_timeout_ms;
    return options;
}

class SqliteStoreTest : public ::testing::Test {
  protected:
    void SetUp() override { open(); }

    void open(SqliteOptions options = {}) {
        store_.reset();
        options.path = path_;
        store_ = std::make_unique<SqliteStore>(options);
        store_->migrate();
    }

    // A second connection, as another process would have.
    std::unique_ptr<Connection> raw() {
        return std::make_unique<Connection>(path_, Connection::Mode::read_write, 10'000);
    }

    std::vector<std::string> plan(const std::string_view sql) {
        auto conn = raw();
        std::vector<std::string> lines;
        auto q = conn->query("EXPLAIN QUERY PLAN " + std::string(sql));
        while (q.step()) lines.push_back(q.text(3));
        return lines;
    }

    TempDir dir_;
    std::string path_ = dir_.file("store.db");
    std::unique_ptr<SqliteStore> store_;
};

std::string joined(const std::vector<std::string>& lines) {
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
}

// Allocation must seek in the (status, name) index: a scan would make every allocation
// cost O(pool) under the write lock. The UPDATE then finds the picked row by primary key.
TEST_F(SqliteStoreTest, AllocationSeeksTheStatusNameIndex) {
    for (auto sql : {sqlite::sql::kPickAvailable, sqlite::sql::kPickAvailablePrefix,
                     sqlite::sql::kPickAvailableFromPrefix}) {
        const auto lines = plan(sql);
        const std::string text = joined(lines);
        ASSERT_FALSE(lines.empty());
        EXPECT_NE(text.find("INDEX sandboxes_status_name (status=?"), std::string::npos) << text;
        EXPECT_EQ(text.find("SCAN"), std::string::npos) << text;
        EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << text;
    }
    EXPECT_NE(joined(plan(sqlite::sql::kPickAvailablePrefix)).find("(status=? AND name>? AND name<?)"),
              std::string::npos);
    const std::string update = joined(plan(sqlite::sql::kAllocateById));
    EXPECT_NE(update.find("USING PRIMARY KEY (sandbox_id=?)"), std::string::npos) << update;
}

// Paging through a status follows the primary key from the cursor: no sort of the whole
// status per page (which made listing a large status quadratic).
TEST_F(SqliteStoreTest, ListingAStatusWalksThePrimaryKey) {
    for (auto sql : {sqlite::sql::kListByStatus, sqlite::sql::kListAll}) {
        const std::string text = joined(plan(sql));
        EXPECT_NE(text.find("USING PRIMARY KEY (sandbox_id>?)"), std::string::npos) << text;
        EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << text;
    }
}

// The opcodes SQLite compiles `sql` to.
std::vector<std::string> opcodes(Connection& conn, std::string_view sql) {
    std::vector<std::string> ops;
    auto q = conn.query("EXPLAIN " + std::string(sql));
    while (q.step()) ops.push_back(q.text(1));
    return ops;
}

// The writes of an allocation build no ephemeral table: neither for RETURNING nor for the
// status CHECK (schema step 3 writes it without IN, which SQLite would materialise per row).
TEST_F(SqliteStoreTest, AllocationWritesOpenNoEphemeralTable) {
    auto conn = raw();
    for (auto sql : {sqlite::sql::kPickAvailable, sqlite::sql::kAllocateById, sqlite::sql::kInsertEvent,
                     sqlite::sql::kHoldings, sqlite::sql::kMark, sqlite::sql::kExtend}) {
        const auto ops = opcodes(*conn, sql);
        ASSERT_FALSE(ops.empty());
        EXPECT_EQ(std::count(ops.begin(), ops.end(), "OpenEphemeral"), 0) << sql;
    }
    // The CHECK's list alone: a status change without RETURNING.
    const auto ops = opcodes(*conn, "UPDATE sandboxes SET status = ?2 WHERE sandbox_id = ?1");
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "OpenEphemeral"), 0);
    // Still enforced.
    store_->upsert_provider_sandboxes(pool(1), kNow);
    EXPECT_THROW(raw()->exec("UPDATE sandboxes SET status = 'lent' WHERE sandbox_id = '100000'"),
                 StoreUnavailable);
    EXPECT_EQ(store_->get("100000")->status, SandboxStatus::available);
}

// The allocation's UPDATE runs without a statement journal (OR FAIL): a constraint it breaks
// stops it before it writes anything, so the row, its indexes and the maintained counts are
// as they were, with nothing to undo.
TEST_F(SqliteStoreTest, AnAllocationUpdateThatBreaksAConstraintChangesNothing) {
    store_->upsert_provider_sandboxes(pool(2), kNow);
    ASSERT_EQ(store_->allocate(request("p1")).outcome, AllocateOutcome::allocated);
    ListQuery allocated;
    allocated.status = SandboxStatus::allocated;
    const auto held = store_->list(allocated).items.at(0);
    auto conn = raw();
    conn->exec("BEGIN IMMEDIATE");
    // The other sandbox, for the same participant and key: the unique (participant, key) index.
    auto q = conn->query(sqlite::sql::kAllocateById);
    q.bind(1, std::string_view(held.sandbox_id == "100000" ? "100001" : "100000"))
        .bind(2, std::string_view("p1"))
        .bind(3, std::string_view(""))
        .bind(4, std::string_view("p1"))
        .bind(5, kNow)
        .bind(6, kNow + 60);
    EXPECT_THROW(q.run(), StoreUnavailable);
    conn->exec("COMMIT");
    const StatusCounts counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 1);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    auto check = conn->query("PRAGMA integrity_check");
    ASSERT_TRUE(check.step());
    EXPECT_EQ(check.text(0), "ok");
    ListQuery available;
    available.status = SandboxStatus::available;
    EXPECT_EQ(store_->list(available).items.size(), 1u);
}

// Pruning the outbox walks the ids from the oldest and stops at the first event that is not
// old: an import's young events are not each read to be kept. An old event written after a
// young one (a clock stepped back) waits for it.
TEST_F(SqliteStoreTest, PruningTheOutboxStopsAtTheFirstYoungEvent) {
    const std::string text = joined(plan(sqlite::sql::kPruneOutboxEvents));
    EXPECT_NE(text.find("SEARCH outbox_events USING INTEGER PRIMARY KEY (rowid<?)"), std::string::npos)
        << text;
    for (UnixSeconds at : {kNow, kNow + 1, kNow + 50, kNow + 2, kNow + 60})
        store_->append_event(kEventJobFailed, "{}", at);
    const auto last = store_->last_event_id();
    EXPECT_EQ(store_->prune_events(last, kNow + 10), 2);
    const auto kept = store_->read_events(0, 10);
    ASSERT_EQ(kept.size(), 3u);
    EXPECT_EQ(kept[1].at, kNow + 2);  // old, but after the young kNow + 50
    EXPECT_EQ(store_->prune_events(last, kNow + 55), 2);
    const auto left = store_->read_events(0, 10);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].at, kNow + 60);
}

// Statements are found again by the address of their text, and the text is still compared:
// another text later at the same address gets its own statement.
TEST_F(SqliteStoreTest, AStatementTextReusedAtOneAddressIsNotMistaken) {
    auto conn = raw();
    std::string sql = "SELECT 1";
    {
        auto q = conn->query(sql);
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.integer(0), 1);
    }
    const char* address = sql.data();
    sql[7] = '2';
    ASSERT_EQ(sql.data(), address);
    for (int i = 0; i < 2; ++i) {
        auto q = conn->query(sql);
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.integer(0), 2);
    }
    const std::string again = "SELECT 1";
    {
        auto q = conn->query(again);
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.integer(0), 1);
    }
    // Texts built anew on every call (new addresses) keep being found, the cache by address
    // emptied on the way.
    for (int i = 0; i < 500; ++i) {
        const auto built = std::make_unique<std::string>("SELECT " + std::to_string(i % 3));
        auto q = conn->query(*built);
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.integer(0), i % 3);
    }
}

// The tables of a version-2 file, as steps 1 and 2 left them (the status CHECK with IN).
constexpr const char* kVersionTwoSchema = R"sql(
CREATE TABLE sandboxes (
    sandbox_id TEXT NOT NULL PRIMARY KEY CHECK (sandbox_id <> ''), name TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL DEFAULT '', sfdc_account_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('available', 'allocated', 'pending_deletion', 'stale',
                                           'deletion_failed', 'deleted')),
    allocated_to_track TEXT NOT NULL DEFAULT '', track_name TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL DEFAULT '', allocated_at INTEGER, expires_at INTEGER,
    deletion_requested_at INTEGER, deletion_retry_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    last_seen_at INTEGER, stale_since INTEGER, claim_owner TEXT NOT NULL DEFAULT '',
    claim_until INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, last_error TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sandboxes_status_name ON sandboxes (status, name);
CREATE UNIQUE INDEX sandboxes_allocated_key ON sandboxes (idempotency_key) WHERE status = 'allocated';
CREATE INDEX sandboxes_allocated_at ON sandboxes (allocated_at) WHERE status = 'allocated';
CREATE INDEX sandboxes_pending_requested ON sandboxes (deletion_requested_at) WHERE status = 'pending_deletion';
CREATE INDEX sandboxes_failed_next_attempt ON sandboxes (next_attempt_at) WHERE status = 'deletion_failed';
CREATE INDEX sandboxes_stale_since ON sandboxes (stale_since) WHERE status = 'stale';
CREATE TABLE sandbox_events (id INTEGER PRIMARY KEY, sandbox_id TEXT NOT NULL, at INTEGER NOT NULL,
    from_status TEXT, to_status TEXT, actor TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '');
CREATE INDEX sandbox_events_sandbox ON sandbox_events (sandbox_id, id);
CREATE INDEX sandbox_events_at ON sandbox_events (at);
CREATE TABLE job_state (job TEXT NOT NULL PRIMARY KEY, paused INTEGER NOT NULL DEFAULT 0,
    run_requested INTEGER NOT NULL DEFAULT 0, holder TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0, next_run_at INTEGER NOT NULL DEFAULT 0, last_started_at INTEGER,
    last_finished_at INTEGER, last_result TEXT NOT NULL DEFAULT '', last_ok INTEGER NOT NULL DEFAULT 1,
    updated_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
INSERT INTO sandboxes (sandbox_id, name, external_id, status, allocated_to_track, idempotency_key,
                       allocated_at, expires_at, created_at, updated_at, version, claim_owner, last_error)
    VALUES ('1', 'a', 'identity/accounts/1', 'available', '', '', NULL, NULL, 10, 11, 1, '', ''),
           ('2', 'b', 'identity/accounts/2', 'allocated', 'p2', 'k2', 20, 30, 12, 20, 4, '', ''),
           ('3', 'c', 'identity/accounts/3', 'deletion_failed', 'p3', 'k3', 5, 6, 7, 8, 9, 'w1', 'HTTP 500');
PRAGMA user_version = 2;
)sql";

// Step 3 rebuilds the sandboxes table: the rows, columns and indexes of a version-2 file
// survive it, and the store works on the result (the partial unique key index included).
TEST_F(SqliteStoreTest, StepThreeKeepsRowsAndIndexes) {
    TempDir other;
    const std::string file = other.file("v2.db");
    const std::string all_columns = "SELECT * FROM sandboxes ORDER BY sandbox_id";
    std::vector<std::string> before;
    {
        Connection conn(file, Connection::Mode::read_write, 10'000);
        conn.exec(kVersionTwoSchema);
        auto q = conn.query(all_columns);
        while (q.step()) {
            std::string row;
            for (int c = 0; c < 21; ++c) row += q.text(c) + "|";
            before.push_back(row);
        }
    }
    SqliteStore store({.path = file});
    store.migrate();

    Connection conn(file, Connection::Mode::read_write, 10'000);
    std::vector<std::string> after;
    {
        auto q = conn.query(all_columns);
        while (q.step()) {
            std::string row;
            for (int c = 0; c < 21; ++c) row += q.text(c) + "|";
            after.push_back(row);
        }
    }
    EXPECT_EQ(after, before);
    ASSERT_EQ(after.size(), 3u);
    {
        auto q = conn.query("SELECT sql FROM sqlite_schema WHERE name = 'sandboxes'");
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.text(0).find(" IN ("), std::string::npos) << q.text(0);
    }
    std::vector<std::string> indexes;
    {
        auto q = conn.query(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sandboxes' "
            "AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name");
        while (q.step()) indexes.push_back(q.text(0));
    }
    EXPECT_EQ(indexes,
              (std::vector<std::string>{"sandboxes_allocated_at", "sandboxes_allocated_expires",  // step 7
                                        "sandboxes_allocated_participant_key",
                                        "sandboxes_allocated_track",    // step 8
                                        "sandboxes_allocation_window",  // step 6
                                        "sandboxes_failed_next_attempt", "sandboxes_pending_requested",
                                        "sandboxes_stale_since", "sandboxes_status_name"}));
    // The key k2 still holds sandbox 2, through the rebuilt unique index (asked while its
    // lease, from allocated_at 20, runs).
    auto held = request("p2");
    held.idempotency_key = "k2";
    held.now = 21;
    const auto again = store.allocate(held);
    EXPECT_EQ(again.outcome, AllocateOutcome::existing);
    EXPECT_EQ(again.sandbox->sandbox_id, "2");
    const auto fresh = store.allocate(request("p9"));
    ASSERT_EQ(fresh.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(fresh.sandbox->sandbox_id, "1");
    EXPECT_EQ(store.allocate(request("p10")).outcome, AllocateOutcome::pool_empty);
}

TEST_F(SqliteStoreTest, KeyAndPrefixLookupsUseTheirIndexes) {
    const std::string key_plan = joined(plan(sqlite::sql::kHoldings));
    EXPECT_NE(key_plan.find("sandboxes_allocated_participant_key"), std::string::npos) << key_plan;
    EXPECT_EQ(key_plan.find("SCAN"), std::string::npos) << key_plan;

    // The failure path's "does the prefix match anything": index ranges, never a table scan.
    for (auto sql : {sqlite::sql::kPrefixKnown, sqlite::sql::kPrefixKnownFrom}) {
        const std::string prefix_plan = joined(plan(sql));
        EXPECT_NE(prefix_plan.find("sandboxes_status_name"), std::string::npos) << prefix_plan;
        EXPECT_EQ(prefix_plan.find("SCAN"), std::string::npos) << prefix_plan;
    }
}

TEST(PrefixUpperBound, IncrementsTheLastByteBelow0xFF) {
    using sqlite::prefix_upper_bound;
    EXPECT_EQ(prefix_upper_bound("abc"), "abd");
    EXPECT_EQ(prefix_upper_bound("a"), "b");
    EXPECT_EQ(prefix_upper_bound("ab\xFF"), "ac");
    EXPECT_EQ(prefix_upper_bound("a\xFF\xFF"), "b");
    EXPECT_EQ(prefix_upper_bound("a\xFE"), "a\xFF");
    EXPECT_EQ(prefix_upper_bound("\xFF\xFF"), "");
    EXPECT_EQ(prefix_upper_bound(""), "");
}

TEST_F(SqliteStoreTest, PrefixOfRawHighBytes) {
    // SQLite keeps bytes as given, so a prefix may end in 0xFF or be nothing but 0xFF.
    std::vector<ProviderSandbox> list = {{"1",
                                          "x\xFF\xFF"
                                          "a",
                                          "", ""},
                                         {"2", "x\xFF", "", ""},
                                         {"3", "y", "", ""},
                                         {"4", "\xFF\xFF\x01", "", ""},
                                         {"5", "\xFF", "", ""},
                                         {"6", "\xFE\xFF", "", ""}};
    store_->upsert_provider_sandboxes(list, kNow);
    std::set<std::string> got;
    for (int i = 0; i < 3; ++i) {
        auto r = store_->allocate(request("x" + std::to_string(i), "x\xFF"));
        if (r.outcome != AllocateOutcome::allocated) break;
        got.insert(r.sandbox->sandbox_id);
    }
    EXPECT_EQ(got, (std::set<std::string>{"1", "2"}));

    got.clear();
    for (int i = 0; i < 3; ++i) {
        auto r = store_->allocate(request("f" + std::to_string(i), "\xFF\xFF"));
        if (r.outcome != AllocateOutcome::allocated) break;
        got.insert(r.sandbox->sandbox_id);
    }
    EXPECT_EQ(got, (std::set<std::string>{"4"}));
}

TEST_F(SqliteStoreTest, UsesWalAndTheLatestSchemaVersion) {
    auto conn = raw();
    auto mode = conn->query("PRAGMA journal_mode");
    ASSERT_TRUE(mode.step());
    EXPECT_EQ(mode.text(0), "wal");
    auto version = conn->query("PRAGMA user_version");
    ASSERT_TRUE(version.step());
    EXPECT_EQ(version.integer(0), sqlite::latest_schema_version());
    EXPECT_GE(sqlite::latest_schema_version(), 1);
}

TEST_F(SqliteStoreTest, MigrateIsIdempotentAndSaysWhatItDid) {
    TempDir other;
    const std::string file = other.file("nested/dir/shared.db");
    SqliteStore a({.path = file, .create_dir = true});
    EXPECT_THROW(a.ping(), StoreUnavailable);  // not migrated yet: not ready
    std::vector<MigrationReport> reports(4);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { reports[i] = a.migrate(); });
    }
    // Exactly one call created the schema; the others found it up to date.
    EXPECT_EQ(std::count_if(reports.begin(), reports.end(), [](auto r) { return r.created(); }), 1);
    EXPECT_EQ(std::count_if(reports.begin(), reports.end(), [](auto r) { return r.up_to_date(); }), 3);
    const auto again = a.migrate();
    EXPECT_EQ(again.from_version, sqlite::latest_schema_version());
    EXPECT_TRUE(again.up_to_date());
    EXPECT_NO_THROW(a.ping());
    a.upsert_provider_sandboxes(pool(2), kNow);
    EXPECT_EQ(a.allocate(request("p1")).outcome, AllocateOutcome::allocated);
    EXPECT_EQ(a.allocate(request("p1")).outcome, AllocateOutcome::existing);
    EXPECT_EQ(a.count_by_status().total(), 2);
}

// The lock file: a second store on the same file is refused while the first lives, with a
// message saying so; once the first is gone the file opens again.
TEST_F(SqliteStoreTest, ASecondStoreOnOneFileIsRefusedWhileTheFirstHoldsIt) {
    try {
        SqliteStore second({.path = path_});
        FAIL() << "a second store opened a file in use";
    } catch (const StoreUnavailable& e) {
        EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid())), std::string::npos)
            << e.what();
    }
    store_.reset();
    EXPECT_NO_THROW(SqliteStore({.path = path_}));
}

TEST_F(SqliteStoreTest, FilesAreCreatedOwnerOnly) {
    store_->upsert_provider_sandboxes(pool(1), kNow);  // the WAL exists once something is written
    for (const std::string suffix : {"", "-wal", "-shm", "-lock"}) {
        struct stat info {};
        ASSERT_EQ(::stat((path_ + suffix).c_str(), &info), 0) << path_ + suffix;
        EXPECT_EQ(info.st_mode & 0777, 0600u) << path_ + suffix;
    }
}

// A file an older version left readable by others is made owner-only when opened.
TEST_F(SqliteStoreTest, AnExistingWorldReadableFileIsMadeOwnerOnly) {
    TempDir other;
    const std::string file = other.file("old.db");
    { SqliteStore first({.path = file}); }
    ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
    SqliteStore reopened({.path = file});
    struct stat info {};
    ASSERT_EQ(::stat(file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(SqliteStoreTest, AMissingDirectoryIsRefusedUnlessAskedToCreateIt) {
    TempDir other;
    const std::string file = other.file("typo/broker.db");
    try {
        SqliteStore refused({.path = file});
        FAIL() << "a missing directory was created";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("create_dir=true"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(other.file("typo")));
    SqliteStore created({.path = file, .create_dir = true});
    EXPECT_TRUE(std::filesystem::exists(file));
}

TEST_F(SqliteStoreTest, RefusesASchemaNewerThanItKnows) {
    raw()->exec("PRAGMA user_version = " + std::to_string(sqlite::latest_schema_version() + 1));
    EXPECT_THROW(store_->migrate(), StoreUnavailable);
}

TEST_F(SqliteStoreTest, OpeningAnUnusablePathThrowsStoreUnavailable) {
    EXPECT_THROW(SqliteStore({.path = dir_.path().string()}), StoreUnavailable);  // a directory
    EXPECT_THROW(SqliteStore({.path = "/proc/no-such-dir/x.db", .create_dir = true}), StoreUnavailable);
}

TEST_F(SqliteStoreTest, UpsertRevivesStaleSandboxes) {
    store_->upsert_provider_sandboxes(pool(3), kNow);
    raw()->exec("UPDATE sandboxes SET status = 'stale', stale_since = 1 WHERE sandbox_id = '100001'");
    ASSERT_EQ(store_->count_by_status()[SandboxStatus::stale], 1);

    const auto summary = store_->upsert_provider_sandboxes(pool(3), kNow + 60);
    EXPECT_EQ(summary.revived, 1);
    EXPECT_EQ(summary.refreshed, 2);
    auto s = store_->get("100001");
    EXPECT_EQ(s->status, SandboxStatus::available);
    EXPECT_EQ(s->updated_at, kNow + 60);
    auto conn = raw();
    auto q = conn->query("SELECT stale_since, last_seen_at FROM sandboxes WHERE sandbox_id = '100001'");
    ASSERT_TRUE(q.step());
    EXPECT_TRUE(q.is_null(0));
    EXPECT_EQ(q.integer(1), kNow + 60);
}

TEST_F(SqliteStoreTest, DeletedRowsAreHistoryNotPool) {
    store_->upsert_provider_sandboxes(pool(4), kNow);
    raw()->exec("UPDATE sandboxes SET status = 'deleted' WHERE sandbox_id IN ('100000', '100002')");
    const auto counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::deleted], 2);
    EXPECT_EQ(counts.total(), 2);
    EXPECT_EQ(store_->list({std::nullopt, "", 100}).items.size(), 2u);
    EXPECT_EQ(store_->list({SandboxStatus::deleted, "", 100}).items.size(), 2u);

    // The provider listing a deleted sandbox again does not bring it back.
    const auto summary = store_->upsert_provider_sandboxes(pool(4), kNow + 1);
    EXPECT_EQ(summary.skipped, 2);
    EXPECT_EQ(store_->get("100000")->status, SandboxStatus::deleted);
}

TEST_F(SqliteStoreTest, EveryTransitionIsRecorded) {
    store_->upsert_provider_sandboxes(pool(1), kNow);
    auto a = store_->allocate(request("p1"));
    ASSERT_EQ(a.outcome, AllocateOutcome::allocated);
    store_->allocate(request("p1"));  // existing: no transition, no event
    ASSERT_EQ(store_->mark_for_deletion({"100000", "p1", kNow + 5, {}}).outcome, MarkOutcome::marked);
    store_->mark_for_deletion({"100000", "p1", kNow + 9, {}});  // already marked: no event

    auto conn = raw();
    auto q = conn->query(
        "SELECT coalesce(from_status, '-'), to_status, actor, at FROM sandbox_events WHERE sandbox_id = ?1 "
        "ORDER BY id");
    q.bind(1, std::string_view("100000"));
    std::vector<std::string> events;
    while (q.step()) events.push_back(q.text(0) + ">" + q.text(1) + " by " + q.text(2) + " at " + q.text(3));
    EXPECT_EQ(events, (std::vector<std::string>{
                          "->available by sync at " + std::to_string(kNow),
                          "available>allocated by p1 at " + std::to_string(kNow),
                          "allocated>pending_deletion by p1 at " + std::to_string(kNow + 5),
                      }));
}

// Holds the database's write lock from another connection, as a second process could.
class WriteLockHolder {
  public:
    explicit WriteLockHolder(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {
        conn_->exec("BEGIN IMMEDIATE");
    }
    ~WriteLockHolder() { release(); }
    void release() {
        if (conn_->in_transaction()) conn_->exec("ROLLBACK");
    }

  private:
    std::unique_ptr<Connection> conn_;
};

TEST_F(SqliteStoreTest, ConcurrentWritesShareOneTransaction) {
    open(options_with(60'000));  // the held lock must outlast the test's own waits
    store_->upsert_provider_sandboxes(pool(60), kNow);
    const auto before = store_->write_stats();
    WriteLockHolder lock(raw());

    // The first write takes the writer into a batch that waits for the lock; the next 50
    // queue up behind it and must all go into the following batch.
    auto first = std::async(std::launch::async, [&] { return store_->allocate(request("first")); });
    ASSERT_TRUE(eventually([&] { return store_->write_stats().in_batch == 1; }));
    std::vector<std::future<AllocateResult>> rest;
    for (int i = 0; i < 50; ++i) {
        rest.push_back(
            std::async(std::launch::async, [&, i] { return store_->allocate(request(std::to_string(i))); }));
    }
    ASSERT_TRUE(eventually([&] { return store_->write_stats().queued == 50; }));
    lock.release();

    EXPECT_EQ(first.get().outcome, AllocateOutcome::allocated);
    std::set<std::string> ids;
    for (auto& f : rest) {
        auto r = f.get();
        ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
        ids.insert(r.sandbox->sandbox_id);
    }
    EXPECT_EQ(ids.size(), 50u);
    const auto after = store_->write_stats();
    EXPECT_EQ(after.batches - before.batches, 2u);
    EXPECT_EQ(after.ops - before.ops, 51u);
    EXPECT_GE(after.largest_batch, 50u);
}

TEST_F(SqliteStoreTest, AFailingWriteDoesNotSpoilItsBatch) {
    open(options_with(60'000));  // the held lock must outlast the test's own waits
    store_->upsert_provider_sandboxes(pool(20), kNow);
    const auto before = store_->write_stats();
    WriteLockHolder lock(raw());
    auto first = std::async(std::launch::async, [&] { return store_->allocate(request("first")); });
    ASSERT_TRUE(eventually([&] { return store_->write_stats().in_batch == 1; }));

    // An empty sandbox id breaks a CHECK constraint halfway through the upsert: all of
    // that upsert (one chunk) is undone, nothing of the allocations around it.
    const std::vector<ProviderSandbox> bad = {{"new-1", "n1", "", ""}, {"", "broken", "", ""}};
    std::vector<std::future<AllocateResult>> allocations;
    for (int i = 0; i < 5; ++i) {
        allocations.push_back(
            std::async(std::launch::async, [&, i] { return store_->allocate(request(std::to_string(i))); }));
    }
    ASSERT_TRUE(eventually([&] { return store_->write_stats().queued == 5; }));
    auto failing =
        std::async(std::launch::async, [&] { return store_->upsert_provider_sandboxes(bad, kNow); });
    ASSERT_TRUE(eventually([&] { return store_->write_stats().queued == 6; }));
    for (int i = 5; i < 10; ++i) {
        allocations.push_back(
            std::async(std::launch::async, [&, i] { return store_->allocate(request(std::to_string(i))); }));
    }
    ASSERT_TRUE(eventually([&] { return store_->write_stats().queued == 11; }));
    lock.release();

    EXPECT_THROW(failing.get(), StoreUnavailable);
    EXPECT_EQ(first.get().outcome, AllocateOutcome::allocated);
    for (auto& f : allocations) EXPECT_EQ(f.get().outcome, AllocateOutcome::allocated);
    // The upsert is a bulk write, a transaction of its own between the batches: the first
    // allocation's, the upsert's (rolled back), then the ten allocations queued around it.
    EXPECT_EQ(store_->write_stats().batches - before.batches, 3u);
    EXPECT_FALSE(store_->get("new-1"));
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 11);
    EXPECT_EQ(store_->count_by_status().total(), 20);
}

TEST_F(SqliteStoreTest, AFullQueueAnswersOverloadedAtOnce) {
    auto options = options_with(60'000);
    options.max_queue = 3;
    open(options);
    store_->upsert_provider_sandboxes(pool(10), kNow);
    WriteLockHolder lock(raw());
    auto first = std::async(std::launch::async, [&] { return store_->allocate(request("first")); });
    ASSERT_TRUE(eventually([&] { return store_->write_stats().in_batch == 1; }));
    std::vector<std::future<AllocateResult>> queued;
    for (int i = 0; i < 3; ++i) {
        queued.push_back(
            std::async(std::launch::async, [&, i] { return store_->allocate(request(std::to_string(i))); }));
    }
    ASSERT_TRUE(eventually([&] { return store_->write_stats().queued == 3; }));

    try {
        store_->allocate(request("one-too-many"));
        FAIL() << "expected Overloaded";
    } catch (const Overloaded& e) {
        EXPECT_EQ(e.retry_after(), std::chrono::seconds(1));
    }
    // Reads do not queue behind writes.
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 10);

    lock.release();
    EXPECT_EQ(first.get().outcome, AllocateOutcome::allocated);
    for (auto& f : queued) EXPECT_EQ(f.get().outcome, AllocateOutcome::allocated);
    EXPECT_FALSE(store_->get("one-too-many"));
}

TEST_F(SqliteStoreTest, ABatchThatCannotCommitFailsEveryCallerThenRecovers) {
    open(options_with(100));
    store_->upsert_provider_sandboxes(pool(5), kNow);
    {
        WriteLockHolder lock(raw());
        EXPECT_THROW(store_->allocate(request("p1")), StoreUnavailable);
    }
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 0);
    auto r = store_->allocate(request("p1"));
    EXPECT_EQ(r.outcome, AllocateOutcome::allocated);
}

TEST_F(SqliteStoreTest, UpsertsTwoHundredThousandSandboxesInOneGo) {
    // What it costs at this size and beyond is bench/run-scale-bench.sh's figure, not a limit here.
    const auto list = pool(200'000);
    const auto summary = store_->upsert_provider_sandboxes(list, kNow);
    EXPECT_EQ(summary.inserted, 200'000);
    const auto again = store_->upsert_provider_sandboxes(list, kNow + 60);
    EXPECT_EQ(again.refreshed, 200'000);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 200'000);
}

TEST_F(SqliteStoreTest, LargeWritesGoInBoundedChunksWithTheSameOutcome) {
    SqliteOptions options;
    options.bulk_chunk_rows = 3;
    open(options);
    auto& lifecycle = static_cast<LifecycleStore&>(*store_);
    const auto before = store_->write_stats().batches;
    const UpsertSummary first = store_->upsert_provider_sandboxes(pool(10), kNow);
    EXPECT_EQ(first.inserted, 10);
    EXPECT_EQ(store_->write_stats().batches - before, 4u) << "10 rows in chunks of 3";
    EXPECT_EQ(store_->write_stats().largest_batch, 1u) << "each chunk a transaction of its own";
    // Importing the same list again is safe: nothing is duplicated.
    EXPECT_EQ(store_->upsert_provider_sandboxes(pool(10), kNow + 1).refreshed, 10);
    ASSERT_EQ(store_->allocate(request("p1")).outcome, AllocateOutcome::allocated);

    // The provider now lists the first 3 only (the first of them is allocated): the other 7
    // available ones become stale, the allocated one is left alone.
    ASSERT_EQ(store_->get("100000")->status, SandboxStatus::allocated);
    const auto before_sync = store_->write_stats().batches;
    const SyncOutcome sync = sync_in_one_pass(lifecycle, pool(3), kNow + 2);
    EXPECT_EQ(store_->write_stats().batches - before_sync, 1u + 3u)
        << "the part, then 7 marked in chunks of 3";
    EXPECT_EQ(sync.upsert.refreshed, 2);
    EXPECT_EQ(sync.upsert.skipped, 1);
    EXPECT_EQ(sync.marked_stale, 7);
    auto counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::stale], 7);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::available], 2);

    // Removal and pruning in chunks count every row once, and record each removal.
    EXPECT_EQ(lifecycle.remove_stale(kNow + 3, kNow + 3, "auto_delete_stale"), 7);
    EXPECT_EQ(lifecycle.history("100009").back().actor, "auto_delete_stale");
    EXPECT_EQ(lifecycle.bulk_remove(SandboxStatus::available, kNow + 4, "admin"), 2);
    counts = store_->count_by_status();
    EXPECT_EQ(counts.total(), 1);
    EXPECT_GT(lifecycle.prune_history(kNow + 100), 10);
    EXPECT_TRUE(lifecycle.history("100009").empty());
}

}  // namespace
}  // namespace broker::testing
