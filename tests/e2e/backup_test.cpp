// `sandbox-broker backup` and `restore` against the real binary: a backup taken while a
// running broker allocates over HTTP on several connections is a consistent store; restore
// is refused while the broker holds the store, and afterwards the restored store answers the
// same (the same sandbox for every participant the backup holds, the same counts).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/jobs_fixture.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

constexpr int kPool = 400;
constexpr int kThreads = 4;
constexpr int kPerThread = 60;  // bounded load: 240 allocations at most

TEST(Backup, TakenUnderAllocationLoadRestoresAStoreThatAnswersTheSame) {
    BrokerInstance broker(sandboxes("bk-", kPool, 800000));
    const std::string path = (broker.dir() / "broker.db").string();
    const std::string backup = (broker.dir() / "backup.db").string();

    std::mutex mutex;
    std::map<std::string, std::string> held;  // participant -> sandbox id
    std::atomic<int> allocated{0};
    std::atomic<bool> stop{false};
    std::vector<std::jthread> load;
    for (int t = 0; t < kThreads; ++t) {
        load.emplace_back([&, t] {
            auto client = broker.client();
            for (int i = 0; i < kPerThread && !stop; ++i) {
                const std::string participant = "bk-" + std::to_string(t) + "-" + std::to_string(i);
                const auto res = allocate(client, participant);
                if (res.status != 201) continue;
                std::lock_guard lock(mutex);
                held[participant] = res.json["sandbox_id"].get<std::string>();
                ++allocated;
            }
        });
    }
    // The backup starts once allocations are flowing and runs while they go on.
    ASSERT_TRUE(wait_until([&] { return allocated >= 20; }, 20s));
    const auto result = run_broker_command({"backup", "--store", broker.store_url(), "--to", backup},
                                           broker.env(), broker.dir(), 30s);
    const int after_backup = allocated;
    stop = true;
    load.clear();
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::cout << "[ figures  ] backup under load: " << after_backup
              << " allocations by the end of the backup, " << allocated << " in all" << std::endl;

    std::smatch m;
    ASSERT_TRUE(std::regex_search(result.out, m, std::regex(R"((\d+) sandboxes \((\d+) allocated\))")))
        << result.out;
    const int backup_pool = std::stoi(m[1]);
    const int backup_allocated = std::stoi(m[2]);
    EXPECT_EQ(backup_pool, kPool);
    EXPECT_GE(backup_allocated, 20);
    EXPECT_LE(backup_allocated, allocated.load());
    struct stat info {};
    ASSERT_EQ(::stat(backup.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u) << "a backup holds the participants' data: owner-only";

    // The broker still holds the store: restore refuses to overwrite it.
    const auto refused = run_broker_command({"restore", "--from", backup, "--store", broker.store_url()},
                                            broker.env(), broker.dir(), 30s);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("in use by another process"), std::string::npos) << refused.err;

    ASSERT_EQ(broker.stop(), 0);
    const auto restored = run_broker_command({"restore", "--from", backup, "--store", broker.store_url()},
                                             broker.env(), broker.dir(), 30s);
    ASSERT_EQ(restored.exit_code, 0) << restored.err;
    EXPECT_NE(restored.out.find(std::to_string(backup_allocated) + " allocated"), std::string::npos)
        << restored.out;

    broker.start();
    auto client = broker.client();
    const auto stats = admin_stats(client);
    EXPECT_EQ(stats["allocated"], backup_allocated) << stats.dump();
    EXPECT_EQ(stats["available"], kPool - backup_allocated) << stats.dump();
    EXPECT_EQ(stats["total"], kPool) << stats.dump();

    // Every participant the backup holds gets its own sandbox back (200, same id); the others
    // were allocated after the snapshot and get a fresh one (201).
    int same = 0;
    for (const auto& [participant, sandbox_id] : held) {
        const auto res = allocate(client, participant);
        if (res.status == 200) {
            EXPECT_EQ(res.json["sandbox_id"], sandbox_id) << participant;
            ++same;
        } else {
            EXPECT_EQ(res.status, 201) << participant << ": " << res.body;
        }
    }
    EXPECT_EQ(same, backup_allocated);
}

TEST(Backup, RestoreRefusesAFileThatIsNotABrokerStore) {
    TempDir dir;
    const auto not_a_store = dir.path() / "notes.db";
    std::ofstream(not_a_store) << "these are notes, not a database\n";
    const std::string store = "sqlite:" + (dir.path() / "broker.db").string();
    const auto result = run_broker_command({"restore", "--from", not_a_store.string(), "--store", store},
                                           serving_env(), dir.path());
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find("not a sandbox-broker store"), std::string::npos) << result.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "broker.db"));
}

}  // namespace
}  // namespace broker::e2e
