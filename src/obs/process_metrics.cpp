// Process metrics from /proc (Linux).
#include "obs/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace broker {

namespace {

std::optional<std::string> read_file(const char* path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    return value;
}

MetricFamily gauge_of(const char* name, const char* help, double value,
                      MetricType type = MetricType::gauge) {
    return MetricFamily{name, help, type, {MetricSample{"", {}, value}}};
}

}  // namespace

std::optional<ProcSelfStat> parse_proc_self_stat(std::string_view text) {
    const auto close = text.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    // After ')' come fields 3.. of proc(5): state is field 3, utime 14, stime 15, starttime 22.
    std::vector<std::string_view> fields;
    std::size_t pos = close + 1;
    while (pos < text.size()) {
        while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n')) ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] != ' ' && text[pos] != '\n') ++pos;
        if (pos > start) fields.push_back(text.substr(start, pos - start));
    }
    auto field = [&](int number) -> std::optional<std::uint64_t> {
        const std::size_t index = static_cast<std::size_t>(number - 3);
        if (index >= fields.size()) return std::nullopt;
        return parse_u64(fields[index]);
    };
    auto utime = field(14), stime = field(15), start = field(22);
    if (!utime || !stime || !start) return std::nullopt;
    return ProcSelfStat{*utime, *stime, *start};
}

std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat) {
    std::size_t pos = 0;
    while (pos < proc_stat.size()) {
        std::size_t end = proc_stat.find('\n', pos);
        if (end == std::string_view::npos) end = proc_stat.size();
        std::string_view line = proc_stat.substr(pos, end - pos);
        if (line.starts_with("btime ")) {
            auto value = parse_u64(line.substr(6));
            if (value) return static_cast<std::int64_t>(*value);
            return std::nullopt;
        }
        pos = end + 1;
    }
    return std::nullopt;
}

std::vector<MetricFamily> collect_process_metrics() {
    std::vector<MetricFamily> families;
    const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
    const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));

    if (auto statm = read_file("/proc/self/statm")) {
        std::istringstream in(*statm);
        std::uint64_t size_pages = 0, resident_pages = 0;
        if (in >> size_pages >> resident_pages) {
            families.push_back(gauge_of("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                        static_cast<double>(size_pages) * page_size));
            families.push_back(gauge_of("process_resident_memory_bytes", "Resident memory size in bytes.",
                                        static_cast<double>(resident_pages) * page_size));
        }
    }

    std::error_code ec;
    std::size_t open_fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
        ++open_fds;
    }
    if (!ec) {
        // The iterator's own descriptor is counted too; it is gone once the loop ends.
        families.push_back(gauge_of("process_open_fds", "Number of open file descriptors.",
                                    static_cast<double>(open_fds > 0 ? open_fds - 1 : 0)));
    }

    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        families.push_back(gauge_of("process_max_fds", "Maximum number of open file descriptors.",
                                    static_cast<double>(limit.rlim_cur)));
    }

    auto stat_text = read_file("/proc/self/stat");
    auto boot_text = read_file("/proc/stat");
    std::optional<ProcSelfStat> stat = stat_text ? parse_proc_self_stat(*stat_text) : std::nullopt;
    std::optional<std::int64_t> boot = boot_text ? parse_boot_time(*boot_text) : std::nullopt;
    if (stat) {
        families.push_back(gauge_of("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                                    static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second,
                                    MetricType::counter));
    }
    if (stat && boot) {
        families.push_back(gauge_of("process_start_time_seconds",
                                    "Start time of the process since unix epoch in seconds.",
                                    static_cast<double>(*boot) +
                                        static_cast<double>(stat->starttime_ticks) / ticks_per_second));
    }
    return families;
}

}  // namespace broker
