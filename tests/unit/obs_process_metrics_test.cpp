// process_* metrics: /proc parsing on fixed text, and live values from this process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "obs/process_metrics.hpp"

namespace broker {
namespace {

std::map<std::string, double> by_name(const std::vector<MetricFamily>& families) {
    std::map<std::string, double> values;
    for (const auto& f : families) values[f.name] = f.samples.at(0).value;
    return values;
}

TEST(ObsProcessMetrics, ParsesStatWithAwkwardCommandName) {
    // The command name holds spaces and a ')' of its own; fields are counted after the last ')'.
    const std::string stat =
        "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
        "250 50 0 0 20 0 3 0 987654 123456789 4000 18446744073709551615\n";
    auto parsed = parse_proc_self_stat(stat);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->utime_ticks, 250u);
    EXPECT_EQ(parsed->stime_ticks, 50u);
    EXPECT_EQ(parsed->starttime_ticks, 987654u);
    EXPECT_FALSE(parse_proc_self_stat("no parenthesis here"));
    EXPECT_FALSE(parse_proc_self_stat("1 (x) S 1 2"));
}

TEST(ObsProcessMetrics, ParsesBootTime) {
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000123\nprocesses 9\n"), 1700000123);
    EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
}

TEST(ObsProcessMetrics, ReportsThisProcess) {
    auto before = by_name(collect_process_metrics());
    ASSERT_TRUE(before.count("process_resident_memory_bytes"));
    EXPECT_GT(before["process_resident_memory_bytes"], 1024 * 1024);
    EXPECT_GE(before["process_virtual_memory_bytes"], before["process_resident_memory_bytes"]);
    EXPECT_GE(before["process_max_fds"], before["process_open_fds"]);

    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(before["process_start_time_seconds"], now + 1);
    EXPECT_GT(before["process_start_time_seconds"], now - 24 * 3600.0);  // a test binary started recently

    int fds[3];
    for (int& fd : fds) fd = open("/dev/null", O_RDONLY);
    auto during = by_name(collect_process_metrics());
    for (int fd : fds) close(fd);
    EXPECT_EQ(during["process_open_fds"], before["process_open_fds"] + 3);
}

}  // namespace
}  // namespace broker
