// The benchmarks' load generator (bench/loadgen) against the real binary: its JSON line
// counts every answer by status, so a benchmark whose check fails can say which answers
// broke it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

#ifdef LOADGEN_BINARY

// Runs loadgen with `args` against the broker for `requests` requests; its last line, parsed.
nlohmann::json run_loadgen(const BrokerInstance& broker, std::vector<std::string> args, int requests) {
    const std::string url =
        "http://" + broker.process().host() + ":" + std::to_string(broker.process().port());
    std::vector<std::string> command{LOADGEN_BINARY,           "--url",      url,
                                     "--connections",          "2",          "--requests",
                                     std::to_string(requests), "--duration", "30"};
    command.insert(command.end(), args.begin(), args.end());
    ChildProcess loadgen(command, {}, broker.dir());
    const auto exit_code = loadgen.wait_exit(std::chrono::seconds(60));
    EXPECT_EQ(exit_code, 0) << loadgen.err();
    std::istringstream out(loadgen.out());
    std::string line, last;
    while (std::getline(out, line)) {
        if (!line.empty()) last = line;
    }
    return nlohmann::json::parse(last);
}

TEST(LoadgenTest, CountsEveryAnswerByStatusInItsJsonLine) {
    BrokerInstance broker(sandboxes("loadgen-", 5, 700000));

    // Five new participants, two of them more than the pool holds: 201 five times, then the
    // empty pool's answer.
    const auto allocations = run_loadgen(
        broker, {"--path", "/v1/allocate", "--method", "POST", "--token", kApiToken, "--unique-participant"},
        7);
    EXPECT_EQ(allocations["requests"], 7) << allocations;
    EXPECT_EQ(allocations["created"], 5) << allocations;
    EXPECT_EQ(allocations["non2xx"], 2) << allocations;
    ASSERT_TRUE(allocations["statuses"].is_object()) << allocations;
    EXPECT_EQ(allocations["statuses"]["201"], 5) << allocations;
    EXPECT_EQ(allocations["statuses"].size(), 2u) << allocations;  // 201 and the empty pool's status

    // A sandbox nobody has: 404 for each request, and nothing else.
    const auto missing =
        run_loadgen(broker, {"--path", "/v1/sandboxes/no-such-sandbox", "--token", kApiToken}, 4);
    EXPECT_EQ(missing["non2xx"], 4) << missing;
    EXPECT_EQ(missing["statuses"], nlohmann::json({{"404", 4}})) << missing;
}

#else

TEST(LoadgenTest, CountsEveryAnswerByStatusInItsJsonLine) {
    GTEST_SKIP() << "built without the benchmarks (BROKER_BUILD_BENCH=OFF)";
}

#endif

}  // namespace
}  // namespace broker::e2e
