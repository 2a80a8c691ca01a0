// `sandbox-broker copy` with the real binary: SQLite -> PostgreSQL -> SQLite, and SQLite ->
// PostgreSQL -> DynamoDB -> SQLite, give back the same sandboxes, statuses and histories (and
// the copy serves the same answers); a non-empty target is refused unless --merge; a copy
// killed halfway is resumed by a rerun with --merge; the verification fails when the target
// holds a source sandbox in another status; a store a running broker holds is refused with
// the way out.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "e2e/broker_fixture.hpp"
#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/static_credentials.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

std::string sqlite_url(const std::filesystem::path& path) {
    return "sqlite:" + path.string();
}

// Everything a store holds, sandbox by sandbox, with history: what a copy must preserve.
std::map<std::string, CopiedSandbox> snapshot(const std::filesystem::path& db) {
    SqliteStore store(SqliteOptions{.path = db.string()});
    std::map<std::string, CopiedSandbox> all;
    for (SandboxStatus status : kAllStatuses) {
        ListQuery query{.status = status, .after_sandbox_id = "", .limit = 1000};
        for (;;) {
            const auto page = store.list(query);
            for (const auto& s : page.items) all[s.sandbox_id] = {s, store.history(s.sandbox_id)};
            if (!page.next_after) break;
            query.after_sandbox_id = *page.next_after;
        }
    }
    return all;
}

void expect_same_store(const std::map<std::string, CopiedSandbox>& got,
                       const std::map<std::string, CopiedSandbox>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [id, w] : want) {
        const auto it = got.find(id);
        ASSERT_NE(it, got.end()) << id;
        const Sandbox& a = it->second.sandbox;
        const Sandbox& b = w.sandbox;
        EXPECT_EQ(a.status, b.status) << id;
        EXPECT_EQ(std::tie(a.name, a.external_id, a.sfdc_account_id, a.allocated_to_track, a.track_name,
                           a.idempotency_key),
                  std::tie(b.name, b.external_id, b.sfdc_account_id, b.allocated_to_track, b.track_name,
                           b.idempotency_key))
            << id;
        EXPECT_EQ(std::tie(a.allocated_at, a.expires_at, a.deletion_requested_at),
                  std::tie(b.allocated_at, b.expires_at, b.deletion_requested_at))
            << id;
        // Not `version`: each store's own compare-and-set token, never copied.
        EXPECT_EQ(std::tie(a.deletion_retry_count, a.created_at, a.updated_at),
                  std::tie(b.deletion_retry_count, b.created_at, b.updated_at))
            << id;
        const auto& ha = it->second.history;
        const auto& hb = w.history;
        ASSERT_EQ(ha.size(), hb.size()) << id;
        for (std::size_t i = 0; i < hb.size(); ++i) {
            EXPECT_EQ(std::tie(ha[i].at, ha[i].from, ha[i].to, ha[i].actor, ha[i].reason),
                      std::tie(hb[i].at, hb[i].from, hb[i].to, hb[i].actor, hb[i].reason))
                << id << " event " << i;
        }
    }
}

// Sandboxes in the statuses HTTP cannot make without a provider, written straight into the
// (stopped) store.
void add_other_statuses(const std::filesystem::path& db) {
    SqliteStore store(SqliteOptions{.path = db.string()});
    std::vector<CopiedSandbox> rows;
    const UnixSeconds at = 1'700'000'000;
    for (SandboxStatus status :
         {SandboxStatus::stale, SandboxStatus::deletion_failed, SandboxStatus::deleted}) {
        CopiedSandbox c;
        c.sandbox.sandbox_id = "other-" + std::string(to_string(status));
        c.sandbox.name = c.sandbox.sandbox_id;
        c.sandbox.status = status;
        c.sandbox.deletion_retry_count = status == SandboxStatus::deletion_failed ? 5 : 0;
        c.sandbox.created_at = at;
        c.sandbox.updated_at = at + 60;
        c.history.push_back(
            {0, c.sandbox.sandbox_id, at, std::nullopt, SandboxStatus::available, "sync", "new"});
        c.history.push_back(
            {0, c.sandbox.sandbox_id, at + 60, SandboxStatus::available, status, "test", "made"});
        rows.push_back(std::move(c));
    }
    ASSERT_EQ(store.insert_copied(rows), 3);
}

CommandResult copy(const std::vector<std::string>& flags, const Environment& env,
                   const std::filesystem::path& cwd, std::chrono::milliseconds timeout = 60s) {
    std::vector<std::string> args{"copy"};
    args.insert(args.end(), flags.begin(), flags.end());
    return run_broker_command(args, env, cwd, timeout);
}

// The source: 40 sandboxes served by a broker, 6 allocated and 2 of them returned, then the
// broker stopped and one sandbox in each status HTTP cannot make added. Returns who holds what.
std::map<std::string, std::string> fill_source(BrokerInstance& broker) {
    std::map<std::string, std::string> held;  // participant -> sandbox
    auto client = broker.client();
    for (int i = 0; i < 6; ++i) {
        const std::string participant = "cp-participant-" + std::to_string(i);
        const auto res = allocate(client, participant);
        EXPECT_EQ(res.status, 201) << res.body;
        held[participant] = res.json.value("sandbox_id", "");
    }
    for (int i = 0; i < 2; ++i) {
        const std::string participant = "cp-participant-" + std::to_string(i);
        EXPECT_EQ(mark_for_deletion(client, held[participant], participant).status, 200);
        held.erase(participant);
    }
    EXPECT_EQ(broker.stop(), 0);
    add_other_statuses(broker.dir() / "broker.db");
    return held;
}

// The copy serves as the original would: each holder gets its own sandbox back (200), a
// newcomer one nobody holds.
void expect_serves_holders(const std::filesystem::path& db, const BrokerInstance& broker,
                           const std::map<std::string, std::string>& held) {
    BrokerProcess copied(sqlite_url(db), broker.env(), broker.dir());
    HttpClient client(copied.host(), copied.port());
    for (const auto& [participant, sandbox_id] : held) {
        const auto res = allocate(client, participant);
        EXPECT_EQ(res.status, 200) << res.body;
        EXPECT_EQ(res.json.value("sandbox_id", ""), sandbox_id);
    }
    const auto fresh = allocate(client, "cp-newcomer");
    ASSERT_EQ(fresh.status, 201) << fresh.body;
    for (const auto& [participant, sandbox_id] : held) EXPECT_NE(fresh.json["sandbox_id"], sandbox_id);
    EXPECT_EQ(copied.stop(), 0);
}

TEST(Copy, SqliteToPostgresToSqliteGivesBackTheSameSandboxesStatusesAndHistories) {
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    BrokerInstance broker(sandboxes("cp-", 40, 910000));  // serving
    const auto held = fill_source(broker);
    const auto source = broker.dir() / "broker.db";

    PgSchema db(*url);
    const auto to_pg =
        copy({"--from", broker.store_url(), "--to", db.url(), "--chunk", "7"}, db.env(), broker.dir());
    ASSERT_EQ(to_pg.exit_code, 0) << to_pg.out << to_pg.err;
    EXPECT_NE(to_pg.out.find("verified"), std::string::npos) << to_pg.out;
    EXPECT_NE(to_pg.err.find("copy: 43/43 sandboxes (43 written"), std::string::npos) << to_pg.err;
    EXPECT_EQ(db.scalar("SELECT count(*) FROM sandboxes"), 43);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM sandboxes WHERE status = 'allocated'"), 4);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM sandboxes WHERE status = 'pending_deletion'"), 2);

    const auto back = broker.dir() / "back.db";
    const auto to_sqlite = copy({"--from", db.url(), "--to", sqlite_url(back)}, db.env(), broker.dir());
    ASSERT_EQ(to_sqlite.exit_code, 0) << to_sqlite.out << to_sqlite.err;
    // The table: every status, source and target equal, nothing missing.
    EXPECT_NE(to_sqlite.out.find("allocated                  4         4         0"), std::string::npos)
        << to_sqlite.out;
    EXPECT_NE(to_sqlite.out.find("all                       43        43         0"), std::string::npos)
        << to_sqlite.out;

    expect_same_store(snapshot(back), snapshot(source));
    expect_serves_holders(back, broker, held);
}

// A DynamoDB table of the test's own on the emulator, deleted at the end.
class EmulatorTable {
  public:
    explicit EmulatorTable(const std::string& endpoint)
        : client_(client_options(endpoint),
                  std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt})),
          name_("e2ecp_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand())),
          url_("dynamodb://" + name_ + "?endpoint=" + endpoint + "&region=us-east-1") {}
    ~EmulatorTable() { client_.call("DeleteTable", {{"TableName", name_}}); }
    EmulatorTable(const EmulatorTable&) = delete;
    EmulatorTable& operator=(const EmulatorTable&) = delete;

    const std::string& url() const { return url_; }

  private:
    static ddb::DynamoClientOptions client_options(const std::string& endpoint) {
        ddb::DynamoClientOptions options;
        options.endpoint = endpoint;
        return options;
    }
    ddb::DynamoClient client_;
    std::string name_, url_;
};

TEST(Copy, SqliteToPostgresToDynamoToSqliteGivesBackTheSameSandboxesStatusesAndHistories) {
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    const char* dynamo = std::getenv("BROKER_TEST_DYNAMODB_URL");
    if (!dynamo || !*dynamo)
        GTEST_SKIP() << "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)";
    BrokerInstance broker(sandboxes("cp-", 40, 915000));  // serving
    const auto held = fill_source(broker);
    const auto source = broker.dir() / "broker.db";

    PgSchema db(*url);
    Environment env = db.env();
    env["AWS_ACCESS_KEY_ID"] = "e2e-copy-key";
    env["AWS_SECRET_ACCESS_KEY"] = "e2e-copy-secret";
    const auto to_pg = copy({"--from", broker.store_url(), "--to", db.url()}, env, broker.dir());
    ASSERT_EQ(to_pg.exit_code, 0) << to_pg.out << to_pg.err;

    // The table does not exist yet: copy creates it for its target (and only there).
    EmulatorTable table(dynamo);
    const auto to_dynamo = copy({"--from", db.url(), "--to", table.url(), "--chunk", "7"}, env, broker.dir());
    ASSERT_EQ(to_dynamo.exit_code, 0) << to_dynamo.out << to_dynamo.err;
    EXPECT_NE(to_dynamo.out.find("verified"), std::string::npos) << to_dynamo.out;
    EXPECT_NE(to_dynamo.err.find("copy: 43/43 sandboxes (43 written"), std::string::npos) << to_dynamo.err;

    const auto back = broker.dir() / "back.db";
    const auto to_sqlite = copy({"--from", table.url(), "--to", sqlite_url(back)}, env, broker.dir());
    ASSERT_EQ(to_sqlite.exit_code, 0) << to_sqlite.out << to_sqlite.err;
    EXPECT_NE(to_sqlite.out.find("allocated                  4         4         0"), std::string::npos)
        << to_sqlite.out;
    EXPECT_NE(to_sqlite.out.find("all                       43        43         0"), std::string::npos)
        << to_sqlite.out;

    expect_same_store(snapshot(back), snapshot(source));
    expect_serves_holders(back, broker, held);
}

TEST(Copy, ANonEmptyTargetIsRefusedUnlessMerging) {
    BrokerInstance source(sandboxes("src-", 20, 920000));
    BrokerInstance target(sandboxes("own-", 5, 930000));
    ASSERT_EQ(source.stop(), 0);
    ASSERT_EQ(target.stop(), 0);

    const auto refused =
        copy({"--from", source.store_url(), "--to", target.store_url()}, source.env(), source.dir());
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_NE(refused.err.find("already holds 5 sandboxes"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("--merge"), std::string::npos) << refused.err;
    EXPECT_EQ(snapshot(target.dir() / "broker.db").size(), 5u);

    const auto merged = copy({"--from", source.store_url(), "--to", target.store_url(), "--merge"},
                             source.env(), source.dir());
    ASSERT_EQ(merged.exit_code, 0) << merged.out << merged.err;
    EXPECT_NE(merged.out.find("verified"), std::string::npos) << merged.out;
    EXPECT_NE(merged.out.find("(and 5 of its own)"), std::string::npos) << merged.out;
    EXPECT_EQ(snapshot(target.dir() / "broker.db").size(), 25u);
}

TEST(Copy, AnInterruptedCopyIsResumedByARerunWithMerge) {
    constexpr int kPool = 3000;
    BrokerInstance source(sandboxes("big-", kPool, 940000));
    ASSERT_EQ(source.stop(), 0);
    const auto target = source.dir() / "target.db";
    {
        // Small chunks, so the copy is still going when it is killed.
        ChildProcess first(
            {BROKER_BINARY, "copy", "--from", source.store_url(), "--to", sqlite_url(target), "--chunk", "5"},
            source.env(), source.dir());
        ASSERT_TRUE(wait_until([&] { return first.err().find("/3000 sandboxes") != std::string::npos; }, 20s))
            << first.err();
        ::kill(first.pid(), SIGKILL);
        ASSERT_EQ(first.wait_exit(10s), -SIGKILL) << first.err();
    }
    const auto partial = snapshot(target).size();
    ASSERT_GT(partial, 0u);
    ASSERT_LT(partial, static_cast<std::size_t>(kPool)) << "the copy finished before it was killed";

    const auto again =
        copy({"--from", source.store_url(), "--to", sqlite_url(target)}, source.env(), source.dir());
    EXPECT_EQ(again.exit_code, 2) << again.err;  // not empty: told to use --merge

    const auto resumed = copy({"--from", source.store_url(), "--to", sqlite_url(target), "--merge"},
                              source.env(), source.dir());
    ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
    EXPECT_NE(resumed.out.find("verified"), std::string::npos) << resumed.out;
    EXPECT_NE(resumed.out.find(std::to_string(kPool - partial) + " written, " + std::to_string(partial) +
                               " were already there"),
              std::string::npos)
        << resumed.out;
    expect_same_store(snapshot(target), snapshot(source.dir() / "broker.db"));
}

TEST(Copy, VerificationFailsWhenTheTargetHoldsASourceSandboxInAnotherStatus) {
    // The cutover hazard: the target synced the sandbox as available while the source has it
    // allocated. The copy leaves the target's row alone, and the verification says so.
    BrokerInstance source(sandboxes("vf-", 3, 950000));  // serving
    {
        auto client = source.client();
        ASSERT_EQ(allocate(client, "vf-holder").status, 201);
    }
    ASSERT_EQ(source.stop(), 0);
    BrokerInstance target(sandboxes("vf-", 3, 950000));  // the same ids, all available
    ASSERT_EQ(target.stop(), 0);

    const auto result = copy({"--from", source.store_url(), "--to", target.store_url(), "--merge"},
                             source.env(), source.dir());
    EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
    EXPECT_NE(result.out.find("allocated                  1         0         1"), std::string::npos)
        << result.out;
    EXPECT_NE(result.out.find("verification failed: 1 sandboxes"), std::string::npos) << result.out;
}

TEST(Copy, AStoreARunningBrokerHoldsIsRefusedWithTheWayOut) {
    BrokerInstance source(sandboxes("busy-", 3, 960000));  // serving
    const auto result = copy({"--from", source.store_url(), "--to", sqlite_url(source.dir() / "t.db")},
                             source.env(), source.dir());
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("in use by another process"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("sandbox-broker backup --store " + source.store_url()), std::string::npos)
        << result.err;
    EXPECT_EQ(source.stop(), 0);

    const auto missing =
        copy({"--from", sqlite_url(source.dir() / "typo.db"), "--to", sqlite_url(source.dir() / "t.db")},
             source.env(), source.dir());
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
    EXPECT_FALSE(std::filesystem::exists(source.dir() / "typo.db"));
}

}  // namespace
}  // namespace broker::e2e
