// Allocation with `Prefer: wait=N` against the real binary: waiters are answered as soon as a
// sync brings sandboxes from the simulator, in the order they came; a waiter whose client went
// away takes nothing; a wait ends at its limit with the usual 409 (the test clock moves the
// limit near instead of waiting it out); malformed values are 400; and a thousand waiting
// connections hold no thread of the blocking pool.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double metric(HttpClient& http, const std::string& series) {
    const auto res = http.get("/metrics");
    return res.status == 200 ? metric_sample(res.body, series) : -1;
}

// Resident memory of a process in KiB, from /proc.
long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

// A raw connection that sends one allocation asking to wait and can be closed without reading.
class RawWaiter {
  public:
    RawWaiter(unsigned short port, const std::string& participant, const std::string& prefix, int wait) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("cannot connect");
        const std::string request =
            "POST /v1/allocate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kApiToken +
            "\r\nX-Instruqt-Sandbox-ID: " + participant + "\r\nX-Sandbox-Name-Prefix: " + prefix +
            "\r\nPrefer: wait=" + std::to_string(wait) + "\r\nContent-Length: 0\r\n\r\n";
        if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
            throw std::runtime_error("cannot send");
    }
    ~RawWaiter() { close(); }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
};

// How long a waiter may wait in these tests (ALLOCATE_MAX_WAIT_SEC): far longer than any of
// them runs, so a wait ends by a sandbox, by the client leaving or by a move of the test clock,
// never because the machine was slow.
constexpr int kLongWait = 240;

class AllocateWaitTest : public ::testing::Test {
  protected:
    void SetUp() override {
        sim_ = std::make_unique<SimProcess>(sim_flags(3));
        Environment env = jobs_env(*sim_);
        env["ALLOCATE_MAX_WAIT_SEC"] = std::to_string(kLongWait);
        // A small blocking pool with a short queue: a waiting allocation that held a pool
        // thread would leave no room for the next (503 instead of a place in the queue).
        env["STORE_THREADS"] = "4";
        env["STORE_QUEUE_MAX"] = "64";
        broker_ = std::make_unique<SimBroker>(env, clock_.flags());
        http_ = std::make_unique<HttpClient>(broker_->process().host(), broker_->process().port(), 60s);
        ASSERT_TRUE(wait_until([&] { return admin_stats(*http_)["available"] == 3; }, 60s));
    }

    // Adds `count` sandboxes named `<prefix>NNNN` at the provider and runs a sync.
    void provider_adds(int count, const std::string& prefix) {
        auto sim_http = sim_->client();
        const auto added = sim_http.post("/_sim/accounts", {{"Content-Type", "application/json"}},
                                         nlohmann::json{{"count", count}, {"name_prefix", prefix}}.dump());
        ASSERT_EQ(added.status, 201) << added.body;
        HttpClient admin = broker_->client();
        const auto sync = admin_post(admin, "/v1/admin/sync?wait=60");
        ASSERT_EQ(sync.status, 200) << sync.body;
    }

    double waiters() { return metric(*http_, "broker_allocate_waiters"); }

    TestClock clock_;
    std::unique_ptr<SimProcess> sim_;
    std::unique_ptr<SimBroker> broker_;
    std::unique_ptr<HttpClient> http_;
};

TEST_F(AllocateWaitTest, FiftyWaitersAreServedInArrivalOrderWhenASyncBringsSandboxes) {
    constexpr int kWaiters = 50;
    struct Outcome {
        HttpResponse response;
        Clock::duration waited{};
        std::string failure;
    };
    std::vector<Outcome> outcomes(kWaiters);
    std::vector<std::thread> threads;
    for (int i = 0; i < kWaiters; ++i) {
        threads.emplace_back([&, i] {
            Outcome& o = outcomes[static_cast<std::size_t>(i)];
            try {
                HttpClient client(broker_->process().host(), broker_->process().port(),
                                  std::chrono::seconds(kLongWait + 30));
                const auto start = Clock::now();
                o.response = allocate(
                    client, unique_participant("waiter"),
                    {{"X-Sandbox-Name-Prefix", "late-"}, {"Prefer", "wait=" + std::to_string(kLongWait)}});
                o.waited = Clock::now() - start;
            } catch (const std::exception& e) {
                o.failure = e.what();
            }
        });
        // Waiter i is queued before waiter i + 1 is sent: the arrival order is known.
        ASSERT_TRUE(wait_until([&] { return waiters() == i + 1; }, 60s)) << i << ": " << waiters();
    }
    provider_adds(kWaiters, "late-");
    for (auto& t : threads) t.join();

    // First come, first served: the queue's oldest waiter takes the first sandbox there is,
    // and an allocation takes the lowest name available, so the i-th to arrive holds the i-th
    // name. (Whatever order the test's threads read the answers in.)
    std::vector<std::string> names;
    std::set<std::string> ids;
    Clock::duration longest{};
    for (int i = 0; i < kWaiters; ++i) {
        const Outcome& o = outcomes[static_cast<std::size_t>(i)];
        ASSERT_EQ(o.failure, "") << i;
        // 201, not the 409 of a wait run out: the sync's sandboxes answered it.
        ASSERT_EQ(o.response.status, 201) << i << ": " << o.response.body;
        EXPECT_EQ(o.response.header("Preference-Applied"), "wait=" + std::to_string(kLongWait));
        names.push_back(o.response.json["name"].get<std::string>());
        EXPECT_EQ(names.back().rfind("late-", 0), 0u) << names.back();
        ids.insert(o.response.json["sandbox_id"].get<std::string>());
        longest = std::max(longest, o.waited);
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kWaiters)) << "every waiter got a sandbox of its own";
    std::vector<std::string> in_name_order = names;
    std::sort(in_name_order.begin(), in_name_order.end());
    for (int i = 0; i < kWaiters; ++i) {
        EXPECT_EQ(names[static_cast<std::size_t>(i)], in_name_order[static_cast<std::size_t>(i)])
            << "waiter " << i << " (in arrival order) was not served in its turn";
    }
    EXPECT_EQ(waiters(), 0);
    std::cout << "[ wait     ] " << kWaiters << " waiters answered in arrival order; the longest wait "
              << std::chrono::duration_cast<std::chrono::milliseconds>(longest).count() << " ms" << std::endl;
}

TEST_F(AllocateWaitTest, AWaiterWhoseClientLeftTakesNothing) {
    {
        RawWaiter gone(broker_->process().port(), unique_participant("gone"), "solo-", kLongWait);
        ASSERT_TRUE(wait_until([&] { return waiters() == 1; }, 60s));
        gone.close();
        ASSERT_TRUE(wait_until([&] { return waiters() == 0; }, 60s))
            << "the closed connection left the queue";
    }
    provider_adds(1, "solo-");
    const auto stats = admin_stats(*http_);
    EXPECT_EQ(stats["available"], 4) << "the new sandbox is still there: " << stats.dump();
    EXPECT_EQ(stats["allocated"], 0);
}

TEST_F(AllocateWaitTest, AWaitEndsAtItsLimitWithTheUsualAnswer) {
    // A wait of 200 s, queued, then the clock moves 200 s: the wait ends at its limit at once.
    HttpResponse res;
    Clock::duration waited{};
    std::thread waiter([&] {
        HttpClient client(broker_->process().host(), broker_->process().port(), 300s);
        const auto start = Clock::now();
        res = allocate(client, unique_participant("limit"),
                       {{"X-Sandbox-Name-Prefix", "never-"}, {"Prefer", "wait=200"}});
        waited = Clock::now() - start;
    });
    const bool queued = wait_until([&] { return waiters() == 1; }, 60s);
    clock_.advance(200s);
    waiter.join();
    ASSERT_TRUE(queued);
    EXPECT_EQ(res.status, 409) << res.body;  // no sandbox of that name at all, as without waiting
    EXPECT_EQ(error_code(res), "NO_SANDBOXES_FOR_PREFIX");
    EXPECT_EQ(res.header("Preference-Applied"), "wait=200");
    EXPECT_LT(waited, 200s) << "the clock's move ended the wait, not the machine's time";
    EXPECT_EQ(waiters(), 0);

    // The pool emptied: 409 with retry_after once the wait is over.
    for (int i = 0; i < 3; ++i) ASSERT_EQ(allocate(*http_, unique_participant("drain")).status, 201);
    const auto empty = allocate(*http_, unique_participant("limit"), {{"Prefer", "wait=1"}});
    EXPECT_EQ(empty.status, 409) << empty.body;
    EXPECT_EQ(error_code(empty), "NO_SANDBOXES_AVAILABLE");
    EXPECT_TRUE(empty.json["error"].contains("retry_after")) << empty.body;
    // The query parameter asks the same.
    const auto query = http_->post("/v1/allocate?wait=1", participant_headers(unique_participant("limit")));
    EXPECT_EQ(query.status, 409) << query.body;
    EXPECT_EQ(query.header("Preference-Applied"), "wait=1");
}

TEST(AllocateWaitCap, ALongerWaitIsCappedAndTheAnswerSaysSo) {
    Environment env = serving_env();
    env["ALLOCATE_MAX_WAIT_SEC"] = "1";
    BrokerInstance broker(sandboxes("cap-", 1, 4100), env);
    HttpClient http(broker.process().host(), broker.process().port(), 120s);
    ASSERT_EQ(allocate(http, unique_participant("cap")).status, 201);
    // Answered at all within the client's 120 s: the wait was not the 600 s asked for.
    const auto res = allocate(http, unique_participant("cap"), {{"Prefer", "wait=600"}});
    EXPECT_EQ(res.status, 409) << res.body;
    EXPECT_EQ(res.header("Preference-Applied"), "wait=1");
}

TEST_F(AllocateWaitTest, MalformedWaitValuesAreRefused) {
    for (const char* prefer : {"wait=soon", "wait=-1", "wait="}) {
        const auto res = allocate(*http_, unique_participant("bad"), {{"Prefer", prefer}});
        EXPECT_EQ(res.status, 400) << prefer << ": " << res.body;
    }
    const auto query = http_->post("/v1/allocate?wait=abc", participant_headers(unique_participant("bad")));
    EXPECT_EQ(query.status, 400) << query.body;
    // Other preferences are ignored: a sandbox is there, so 201 at once.
    const auto other = allocate(*http_, unique_participant("ok"), {{"Prefer", "respond-async"}});
    EXPECT_EQ(other.status, 201) << other.body;
    EXPECT_FALSE(other.has_header("Preference-Applied"));
}

TEST_F(AllocateWaitTest, AThousandWaitingConnectionsHoldNoPoolThread) {
    constexpr int kConnections = 1000;
    rlimit files{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
    if (files.rlim_cur < 4096) {
        files.rlim_cur = std::min<rlim_t>(4096, files.rlim_max);
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur < kConnections + 64) GTEST_SKIP() << "RLIMIT_NOFILE too low for this test";
    const long rss_before = rss_kib(broker_->process().pid());
    const double active_before = metric(*http_, "broker_blocking_pool_active");
    std::vector<std::unique_ptr<RawWaiter>> raw;
    raw.reserve(kConnections);
    for (int i = 0; i < kConnections; ++i) {
        raw.push_back(std::make_unique<RawWaiter>(broker_->process().port(), unique_participant("many"),
                                                  "many-", kLongWait));
    }
    // A thousand waiting on a pool of 4 threads and a queue of 64 (the fixture's): they can
    // only all be waiting if none of them holds a pool thread.
    ASSERT_TRUE(wait_until([&] { return waiters() == kConnections; }, 120s)) << waiters();
    // Sampled a few times while they wait: the pool is not full (the scrape itself, or a job
    // of the broker, may be running on it).
    double active_most = 0;
    for (int i = 0; i < 5; ++i) {
        active_most = std::max(active_most, metric(*http_, "broker_blocking_pool_active"));
        std::this_thread::sleep_for(100ms);
    }
    const long rss_waiting = rss_kib(broker_->process().pid());
    EXPECT_LT(active_most, 4) << "a waiting allocation must not hold a blocking-pool thread";
    // And the pool still serves others meanwhile.
    EXPECT_EQ(admin_stats(*http_)["available"], 3);
    std::cout << "[ wait     ] " << kConnections << " waiting connections: blocking pool active "
              << active_before << " before, at most " << active_most << " while waiting; RSS " << rss_before
              << " KiB before, " << rss_waiting << " KiB while waiting ("
              << (rss_waiting - rss_before) * 1024 / kConnections << " bytes a waiter)" << std::endl;
    raw.clear();
    EXPECT_TRUE(wait_until([&] { return waiters() == 0; }, 120s))
        << "closed connections leave: " << waiters();
}

}  // namespace
}  // namespace broker::e2e
