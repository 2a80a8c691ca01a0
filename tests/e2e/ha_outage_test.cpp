// PostgreSQL stopped and started under allocation load, with two `serve` replicas on it: the
// database is the test's own private cluster, so stopping it disturbs no other test. While
// it is down every answer is 201, 200 or 503 (never a 500, never a hang: the client gives up
// after 30 s, far beyond every bound the broker applies, and that fails the test), /readyz
// says 503, and afterwards the replicas serve again by themselves. Participants retry after a
// 503 with the same id, as lab scripts do, and no participant ends up holding two sandboxes.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"

namespace broker::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

enum Phase { kBefore = 0, kOutage = 1, kAfter = 2 };

struct Answer {
    Phase phase = kBefore;
    int replica = 0;
    int status = 0;
    bool retry_after = false;
    std::string participant;
    std::string sandbox_id;
    std::string failure;  // transport failure or timeout
};

// Polls `path` on a replica until it answers `status`; false when `limit` passed first.
bool wait_for_status(const BrokerRole& replica, const std::string& path, int status, milliseconds limit) {
    const auto deadline = SteadyClock::now() + limit;
    while (SteadyClock::now() < deadline) {
        try {
            auto client = replica.client(seconds(30));
            if (client.get(path).status == status) return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
}

// The parameter is how the server goes down: "fast" (a clean shutdown that ends the sessions)
// or "immediate" (every server process killed, as in a crash; the start replays the WAL).
class HaOutageTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HaOutageTest, PostgresRestartedUnderLoadAnswers503ThenRecoversWithoutDoubleHoldings) {
    if (!test_postgres_url()) GTEST_SKIP() << kNoPostgres;
    PrivateCluster cluster;
    const PgDatabase db(cluster.url(), "");
    TempDir dir;
    db.migrate_and_import(sandboxes("outage-", 20'000, 8'000'000), dir.path());

    // Bounds that keep every request short when the server is gone.
    const Environment env = db.env({{"DB_POOL_SIZE", "8"},
                                    {"STORE_THREADS", "16"},
                                    {"DB_POOL_WAIT_MS", "1000"},
                                    {"DB_STATEMENT_TIMEOUT_MS", "2000"},
                                    {"DB_CONNECT_TIMEOUT_SEC", "2"}});
    std::vector<std::unique_ptr<BrokerRole>> replicas;
    for (int i = 0; i < 2; ++i)
        replicas.push_back(std::make_unique<BrokerRole>("serve", db.url(), env, dir.path()));

    std::atomic<int> phase{kBefore};
    std::atomic<bool> done{false};
    std::mutex mutex;
    std::vector<Answer> answers;
    std::vector<std::thread> load;
    constexpr int kThreads = 12;
    for (int i = 0; i < kThreads; ++i) {
        load.emplace_back([&, i] {
            const int replica = i % 2;
            std::string participant = unique_participant("outage");
            std::optional<HttpClient> client;
            while (!done) {
                Answer answer;
                answer.phase = static_cast<Phase>(phase.load());
                answer.replica = replica;
                answer.participant = participant;
                try {
                    // Far longer than any bound the broker applies (pool wait, connect,
                    // statement), so only a hang runs into it, not a busy machine.
                    if (!client)
                        client.emplace("127.0.0.1", replicas[static_cast<std::size_t>(replica)]->port(),
                                       seconds(30));
                    const auto res = allocate(*client, participant);
                    answer.status = res.status;
                    answer.retry_after = res.has_header("Retry-After");
                    if (res.json.is_object() && res.json.contains("sandbox_id"))
                        answer.sandbox_id = res.json["sandbox_id"].get<std::string>();
                } catch (const std::exception& e) {
                    answer.failure = e.what();
                    client.reset();
                }
                const bool granted = answer.status == 201 || answer.status == 200;
                {
                    std::lock_guard lock(mutex);
                    answers.push_back(std::move(answer));
                }
                if (granted) {
                    participant = unique_participant("outage");
                    std::this_thread::sleep_for(milliseconds(5));
                } else {
                    std::this_thread::sleep_for(milliseconds(50));  // the same participant asks again
                }
            }
        });
    }
    // Stop the load however the test leaves this scope, so no thread outlives what it uses.
    struct Joiner {
        std::atomic<bool>& done;
        std::vector<std::thread>& threads;
        ~Joiner() {
            done = true;
            for (auto& thread : threads) thread.join();
        }
    } joiner{done, load};

    // Traffic before, during and after the outage, each phase lasting until it has shown what
    // it is there for (counted answers, not a duration: a busy machine only makes it longer;
    // the deadlines only bound a hang).
    auto answered = [&](Phase when, int status) {
        std::lock_guard lock(mutex);
        int count = 0;
        for (const auto& a : answers) count += a.phase == when && a.status == status;
        return count;
    };
    auto allocated_after = [&](int replica) {
        std::lock_guard lock(mutex);
        int count = 0;
        for (const auto& a : answers) count += a.phase == kAfter && a.replica == replica && a.status == 201;
        return count;
    };
    const bool loaded = wait_until([&] { return answered(kBefore, 201) >= 20; }, seconds(120));
    phase = kOutage;
    cluster.stop_server(GetParam());
    int ready_down[2] = {0, 0};
    for (int r = 0; r < 2; ++r) {
        auto client = replicas[static_cast<std::size_t>(r)]->client(seconds(30));
        const auto res = client.get("/readyz");
        ready_down[r] = res.status;
    }
    const bool felt = wait_until([&] { return answered(kOutage, 503) >= 10; }, seconds(120));
    cluster.start_server();
    const auto restarted = SteadyClock::now();
    phase = kAfter;

    bool ready_again[2] = {false, false};
    for (int r = 0; r < 2; ++r)
        ready_again[r] =
            wait_for_status(*replicas[static_cast<std::size_t>(r)], "/readyz", 200, seconds(120));
    // Keep the load on until both replicas have allocated again (or a deadline passed).
    const auto deadline = SteadyClock::now() + seconds(120);
    while (SteadyClock::now() < deadline && (allocated_after(0) < 20 || allocated_after(1) < 20))
        std::this_thread::sleep_for(milliseconds(100));
    const double recovery_s = std::chrono::duration<double>(SteadyClock::now() - restarted).count();
    done = true;
    for (auto& thread : load) thread.join();
    load.clear();

    EXPECT_TRUE(loaded) << "no load before the outage";
    EXPECT_TRUE(felt) << "the outage was not felt: no 503 while the server was down";
    EXPECT_EQ(ready_down[0], 503);
    EXPECT_EQ(ready_down[1], 503);
    EXPECT_TRUE(ready_again[0] && ready_again[1]) << "/readyz did not come back to 200";

    std::map<Phase, std::map<int, int>> statuses;
    std::map<std::string, std::set<std::string>> granted;  // participant -> sandboxes named in 2xx
    int missing_retry_after = 0;
    for (const auto& a : answers) {
        EXPECT_EQ(a.failure, "") << "a request failed at the transport level (phase " << a.phase << ")";
        ++statuses[a.phase][a.status];
        if (a.status == 503 && !a.retry_after) ++missing_retry_after;
        if (a.status == 201 || a.status == 200) granted[a.participant].insert(a.sandbox_id);
    }
    for (const auto& [when, counts] : statuses) {
        for (const auto& [status, count] : counts) {
            EXPECT_TRUE(status == 201 || status == 200 || status == 503)
                << count << " answers " << status << " in phase " << when;
        }
    }
    EXPECT_EQ(missing_retry_after, 0) << "a 503 without Retry-After";
    EXPECT_GE(allocated_after(0), 20) << "replica 0 did not recover";
    EXPECT_GE(allocated_after(1), 20) << "replica 1 did not recover";

    // No participant holds two sandboxes; every grant answered is committed, to its participant.
    EXPECT_EQ(db.scalar("SELECT count(*) FROM (SELECT allocated_to_track FROM sandboxes WHERE status = "
                        "'allocated' GROUP BY allocated_to_track HAVING count(*) > 1) twice"),
              0);
    std::map<std::string, std::string> holder;
    for (const auto& row :
         db.query("SELECT sandbox_id, allocated_to_track FROM sandboxes WHERE status = 'allocated'")) {
        holder[row[0]] = row[1];
    }
    for (const auto& [participant, ids] : granted) {
        EXPECT_EQ(ids.size(), 1U) << participant << " was answered with two sandboxes";
        for (const auto& id : ids) EXPECT_EQ(holder[id], participant) << id << " answered but not held";
    }
    std::cout << "[ outage   ] " << GetParam() << " stop; answers before: " << statuses[kBefore][201]
              << "x201; outage: " << statuses[kOutage][201] << "x201 " << statuses[kOutage][200] << "x200 "
              << statuses[kOutage][503] << "x503; after: " << statuses[kAfter][201] << "x201 "
              << statuses[kAfter][503] << "x503; both replicas allocating again " << recovery_s
              << " s after the restart" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(StopModes, HaOutageTest, ::testing::Values("fast", "immediate"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace broker::e2e
