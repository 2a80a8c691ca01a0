// Allocation with `Prefer: wait=N` against the real binary: waiters are answered as soon as a
// sync brings sandboxes from the simulator, in the order they came; a waiter whose client went
// away takes nothing; a wait ends at its limit with the usual 409; malformed values are 400;
// and a thousand waiting connections hold no thread of the blocking pool.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/jobs_fixture.hpp"

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

class AllocateWaitTest : public ::testing::Test {
  protected:
    void SetUp() override {
        sim_ = std::make_unique<SimProcess>(sim_flags(3));
        Environment env = jobs_env(*sim_);
        env["ALLOCATE_MAX_WAIT_SEC"] = "30";
        broker_ = std::make_unique<SimBroker>(env);
        http_ = std::make_unique<HttpClient>(broker_->process().host(), broker_->process().port(), 30s);
        ASSERT_TRUE(wait_until([&] { return admin_stats(*http_)["available"] == 3; }, 10s));
    }

    // Adds `count` sandboxes named `<prefix>NNNN` at the provider and runs a sync.
    void provider_adds(int count, const std::string& prefix) {
        auto sim_http = sim_->client();
        const auto added = sim_http.post("/_sim/accounts", {{"Content-Type", "application/json"}},
                                         nlohmann::json{{"count", count}, {"name_prefix", prefix}}.dump());
        ASSERT_EQ(added.status, 201) << added.body;
        HttpClient admin = broker_->client();
        const auto sync = admin_post(admin, "/v1/admin/sync?wait=30");
        ASSERT_EQ(sync.status, 200) << sync.body;
    }

    double waiters() { return metric(*http_, "broker_allocate_waiters"); }

    std::unique_ptr<SimProcess> sim_;
    std::unique_ptr<SimBroker> broker_;
    std::unique_ptr<HttpClient> http_;
};

TEST_F(AllocateWaitTest, FiftyWaitersAreServedInArrivalOrderWhenASyncBringsSandboxes) {
    constexpr int kWaiters = 50;
    constexpr int kWait = 20;
    struct Outcome {
        HttpResponse response;
        Clock::duration waited{};
        int rank = -1;  // the order answers came back in
        std::string failure;
    };
    std::vector<Outcome> outcomes(kWaiters);
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kWaiters; ++i) {
        threads.emplace_back([&, i] {
            Outcome& o = outcomes[static_cast<std::size_t>(i)];
            try {
                HttpClient client(broker_->process().host(), broker_->process().port(), 40s);
                const auto start = Clock::now();
                o.response = allocate(
                    client, unique_participant("waiter"),
                    {{"X-Sandbox-Name-Prefix", "late-"}, {"Prefer", "wait=" + std::to_string(kWait)}});
                o.waited = Clock::now() - start;
                o.rank = answered++;
            } catch (const std::exception& e) {
                o.failure = e.what();
            }
        });
        // Arrival order is the order the broker counted them in.
        ASSERT_TRUE(wait_until([&] { return waiters() == i + 1; }, 5s)) << i << ": " << waiters();
    }
    provider_adds(kWaiters, "late-");
    for (auto& t : threads) t.join();

    std::set<std::string> ids;
    int out_of_order = 0;
    Clock::duration longest{};
    for (int i = 0; i < kWaiters; ++i) {
        const Outcome& o = outcomes[static_cast<std::size_t>(i)];
        ASSERT_EQ(o.failure, "") << i;
        ASSERT_EQ(o.response.status, 201) << i << ": " << o.response.body;
        EXPECT_EQ(o.response.header("Preference-Applied"), "wait=" + std::to_string(kWait));
        EXPECT_EQ(o.response.json["name"].get<std::string>().rfind("late-", 0), 0u);
        ids.insert(o.response.json["sandbox_id"].get<std::string>());
        // Answers leave the broker in queue order; the test's threads (on a busy machine) may
        // read them a little out of step, so a small window is allowed.
        if (std::abs(o.rank - i) > 5) ++out_of_order;
        longest = std::max(longest, o.waited);
        EXPECT_LT(o.waited, std::chrono::seconds(kWait)) << i;
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kWaiters)) << "every waiter got a sandbox of its own";
    EXPECT_LE(out_of_order, 2) << "answers read more than 5 places from their arrival";
    EXPECT_EQ(waiters(), 0);
    std::cout << "[ wait     ] " << kWaiters << " waiters answered; the longest wait "
              << std::chrono::duration_cast<std::chrono::milliseconds>(longest).count() << " ms; "
              << out_of_order << " read more than 5 places from their arrival" << std::endl;
}

TEST_F(AllocateWaitTest, AWaiterWhoseClientLeftTakesNothing) {
    {
        RawWaiter gone(broker_->process().port(), unique_participant("gone"), "solo-", 20);
        ASSERT_TRUE(wait_until([&] { return waiters() == 1; }, 5s));
        gone.close();
        ASSERT_TRUE(wait_until([&] { return waiters() == 0; }, 5s)) << "the closed connection left the queue";
    }
    provider_adds(1, "solo-");
    const auto stats = admin_stats(*http_);
    EXPECT_EQ(stats["available"], 4) << "the new sandbox is still there: " << stats.dump();
    EXPECT_EQ(stats["allocated"], 0);
}

TEST_F(AllocateWaitTest, AWaitEndsAtItsLimitWithTheUsualAnswer) {
    const auto start = Clock::now();
    const auto res = allocate(*http_, unique_participant("limit"),
                              {{"X-Sandbox-Name-Prefix", "never-"}, {"Prefer", "wait=1"}});
    const auto waited = Clock::now() - start;
    EXPECT_EQ(res.status, 409) << res.body;  // no sandbox of that name at all, as without waiting
    EXPECT_EQ(error_code(res), "NO_SANDBOXES_FOR_PREFIX");
    EXPECT_EQ(res.header("Preference-Applied"), "wait=1");
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 5s);

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
    auto http = broker.client();
    ASSERT_EQ(allocate(http, unique_participant("cap")).status, 201);
    const auto start = Clock::now();
    const auto res = allocate(http, unique_participant("cap"), {{"Prefer", "wait=600"}});
    EXPECT_EQ(res.status, 409) << res.body;
    EXPECT_EQ(res.header("Preference-Applied"), "wait=1");
    EXPECT_LT(Clock::now() - start, 5s);
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
        raw.push_back(
            std::make_unique<RawWaiter>(broker_->process().port(), unique_participant("many"), "many-", 30));
    }
    ASSERT_TRUE(wait_until([&] { return waiters() == kConnections; }, 20s)) << waiters();
    // Sampled a few times while they wait: the pool is idle (the scrape itself may be running).
    double active_most = 0;
    for (int i = 0; i < 5; ++i) {
        active_most = std::max(active_most, metric(*http_, "broker_blocking_pool_active"));
        std::this_thread::sleep_for(100ms);
    }
    const long rss_waiting = rss_kib(broker_->process().pid());
    EXPECT_LE(active_most, 1) << "a waiting allocation must not hold a blocking-pool thread";
    std::cout << "[ wait     ] " << kConnections << " waiting connections: blocking pool active "
              << active_before << " before, at most " << active_most << " while waiting; RSS " << rss_before
              << " KiB before, " << rss_waiting << " KiB while waiting ("
              << (rss_waiting - rss_before) * 1024 / kConnections << " bytes a waiter)" << std::endl;
    raw.clear();
    EXPECT_TRUE(wait_until([&] { return waiters() == 0; }, 10s)) << "closed connections leave: " << waiters();
}

}  // namespace
}  // namespace broker::e2e
