// Standard process_* metrics (memory, file descriptors, CPU, start time), read from /proc
// at scrape time so they cost nothing between scrapes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "obs/exposition.hpp"

namespace broker {

// Fields of /proc/self/stat we use, in clock ticks.
struct ProcSelfStat {
    std::uint64_t utime_ticks = 0;
    std::uint64_t stime_ticks = 0;
    std::uint64_t starttime_ticks = 0;  // since boot
};

// Parses /proc/self/stat; the command name may hold spaces and parentheses, so fields are
// counted from the last ')'. Empty when the text is not of that shape.
std::optional<ProcSelfStat> parse_proc_self_stat(std::string_view text);
// The `btime` line of /proc/stat: boot time in seconds since the Unix epoch.
std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat);

// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds, process_cpu_seconds_total. A family whose
// source cannot be read is left out rather than reported as zero.
std::vector<MetricFamily> collect_process_metrics();

}  // namespace broker
