// The upgrade rules with the real binary: `version` and `migrate --status` say where a store
// stands; a store a newer release migrated (its version set here through the store's own
// bookkeeping, as that release would) is never migrated down, is served when it says this
// binary is compatible, and is refused with a message naming both versions when it is not.
#include <gtest/gtest.h>

#include "e2e/broker_fixture.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

class SchemaUpgrade : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto version = run_broker_command({"version", "--json"}, serving_env(), dir_.path());
        ASSERT_EQ(version.exit_code, 0) << version.err;
        binary_ = nlohmann::json::parse(version.out)["schema"]["sqlite"]["version"].get<int>();
        const auto migrated = run_broker_command({"migrate", "--store", url()}, serving_env(), dir_.path());
        ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
    }
    std::string path() const { return (dir_.path() / "broker.db").string(); }
    std::string url() const { return "sqlite:" + path(); }
    // What a newer release's migrate leaves: its version, and what it is compatible from.
    void record(int version, int compatible_from) const {
        sqlite::Connection raw(path(), sqlite::Connection::Mode::read_write, 10'000);
        raw.exec("PRAGMA user_version = " + std::to_string(version));
        raw.exec("UPDATE schema_compat SET compatible_from = " + std::to_string(compatible_from));
    }
    CommandResult command(const std::vector<std::string>& args) const {
        return run_broker_command(args, serving_env(), dir_.path());
    }

    TempDir dir_;
    int binary_ = 0;
};

TEST_F(SchemaUpgrade, VersionAndStatusSayWhereTheStoreStands) {
    const auto text = command({"version"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_EQ(text.out.rfind("sandbox-broker ", 0), 0u) << text.out;
    EXPECT_NE(text.out.find("\ncommit "), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("schema sqlite " + std::to_string(binary_)), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("schema postgresql "), std::string::npos) << text.out;

    const auto status = command({"migrate", "--status", "--store", url()});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_NE(status.out.find("store schema version: " + std::to_string(binary_) + "\n"), std::string::npos)
        << status.out;
    EXPECT_NE(status.out.find("binary schema version: " + std::to_string(binary_) + "\n"), std::string::npos);
    EXPECT_NE(status.out.find("pending: none\n"), std::string::npos) << status.out;

    // A store that is not there yet: every step pending, and still not there afterwards.
    const std::string missing = "sqlite:" + (dir_.path() / "new.db").string();
    const auto fresh = command({"migrate", "--status", "--store", missing});
    ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
    EXPECT_NE(fresh.out.find("store schema version: 0\n"), std::string::npos) << fresh.out;
    EXPECT_NE(fresh.out.find("pending: step 1: "), std::string::npos) << fresh.out;
    EXPECT_NE(fresh.out.find("pending: step " + std::to_string(binary_) + ": "), std::string::npos)
        << fresh.out;
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "new.db")) << "--status created the store";
}

TEST_F(SchemaUpgrade, ACompatibleNewerStoreIsServedButNeverMigratedDown) {
    const int newer = binary_ + 2;
    record(newer, binary_);

    // A rolled-back release's one-shot migrate succeeds (the processes after it must start)
    // and changes nothing.
    const auto migrate = command({"migrate", "--store", url()});
    EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
    EXPECT_NE(migrate.out.find("store schema version " + std::to_string(newer) +
                               " is newer than this binary's (" + std::to_string(binary_) + ")"),
              std::string::npos)
        << migrate.out;
    EXPECT_NE(migrate.out.find("nothing to migrate"), std::string::npos) << migrate.out;

    const auto status = command({"migrate", "--status", "--store", url()});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_NE(status.out.find("store schema version: " + std::to_string(newer) + "\n"), std::string::npos);
    EXPECT_NE(status.out.find("runs on it as it is"), std::string::npos) << status.out;

    Environment env = serving_env();
    env["LOG_LEVEL"] = "warning";
    ChildProcess serve({BROKER_BINARY, "serve", "--listen", "127.0.0.1:0", "--store", url()}, env,
                       dir_.path());
    const auto line = serve.wait_for_line("listening on", 10s);
    ASSERT_TRUE(line) << serve.err();
    const auto port = static_cast<unsigned short>(std::stoi(line->substr(line->rfind(':') + 1)));
    HttpClient http("127.0.0.1", port, 10s);
    EXPECT_EQ(http.get("/readyz").status, 200);
    EXPECT_EQ(serve.terminate(5s), 0) << serve.err();
    EXPECT_NE(serve.out().find("newer than this binary"), std::string::npos) << serve.out();

    // Still the newer release's store.
    const auto after = command({"migrate", "--status", "--store", url()});
    EXPECT_NE(after.out.find("store schema version: " + std::to_string(newer) + "\n"), std::string::npos);
}

TEST_F(SchemaUpgrade, AnIncompatibleNewerStoreIsRefusedByMigrateAndServe) {
    const int newer = binary_ + 1;
    record(newer, newer);
    const std::string both = "store schema version " + std::to_string(newer) +
                             " is newer than this binary's (" + std::to_string(binary_) + ")";

    const auto migrate = command({"migrate", "--store", url()});
    EXPECT_EQ(migrate.exit_code, 2);
    EXPECT_NE(migrate.err.find(both), std::string::npos) << migrate.err;

    for (const char* role : {"serve", "run"}) {
        const auto refused = command({role, "--listen", "127.0.0.1:0", "--store", url()});
        EXPECT_EQ(refused.exit_code, 2) << role << ": " << refused.out;
        EXPECT_NE(refused.err.find(both), std::string::npos) << role << ": " << refused.err;
        EXPECT_NE(refused.err.find(std::string(role) + " does not run on it"), std::string::npos)
            << refused.err;
        EXPECT_EQ(refused.out.find("listening on"), std::string::npos) << role;
    }
}

}  // namespace
}  // namespace broker::e2e
