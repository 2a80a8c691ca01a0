// Usable cores from the affinity mask and the cgroup v2 CPU quota; see cpu_count.hpp.
#include "core/cpu_count.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>
#include <thread>

namespace broker {
namespace {

std::optional<long long> parse_number(std::string_view text) {
    long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
    return value;
}

std::optional<std::string> first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

int affinity_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The quota of the process's own cgroup ("0::/PATH" in /proc/self/cgroup), else of the root of
// the mounted hierarchy (a container's namespace root).
std::optional<int> quota_cores() {
    std::string group;
    if (std::ifstream in("/proc/self/cgroup"); in) {
        for (std::string line; std::getline(in, line);) {
            if (line.starts_with("0::")) group = line.substr(3);
        }
    }
    for (const std::string& dir : {"/sys/fs/cgroup" + group, std::string("/sys/fs/cgroup")}) {
        if (const auto line = first_line(dir + "/cpu.max")) return cores_of_cpu_max(*line);
    }
    return std::nullopt;
}

}  // namespace

std::optional<int> cores_of_cpu_max(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    const auto space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const std::string_view quota_text = text.substr(0, space);
    const auto period = parse_number(text.substr(space + 1));
    if (!period || quota_text == "max") return std::nullopt;
    const auto quota = parse_number(quota_text);
    if (!quota) return std::nullopt;
    return static_cast<int>(std::max(1LL, (*quota + *period - 1) / *period));
}

int usable_cores() {
    static const int cores = [] {
        int n = affinity_cores();
        if (const auto quota = quota_cores()) n = std::min(n, *quota);
        return std::max(n, 1);
    }();
    return cores;
}

int default_http_threads(int cores) {
    return std::max(1, cores / 2);
}

int default_store_threads(int cores, std::optional<std::size_t> store_connections) {
    const int by_cores = std::clamp(8 * cores, 8, 64);
    if (!store_connections) return by_cores;
    return static_cast<int>(
        std::clamp<std::size_t>(*store_connections, 1, static_cast<std::size_t>(by_cores)));
}

}  // namespace broker
