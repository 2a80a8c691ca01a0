#include "http/allocate_wait.hpp"

#include <algorithm>

#include "runtime/http_text.hpp"

namespace broker {
namespace {

constexpr std::int64_t kLongestAsked = 86'400;

// delta-seconds (RFC 9111 §1.2.2): 1*DIGIT; saturates instead of overflowing.
std::optional<std::chrono::seconds> delta_seconds(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty()) return std::nullopt;
    std::int64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = std::min<std::int64_t>(n * 10 + (c - '0'), kLongestAsked);
    }
    return std::chrono::seconds(n);
}

}  // namespace

AllocateWaitOptions load_allocate_wait_options(const EnvLookup& env) {
    AllocateWaitOptions o;
    if (auto v = env_number<int>(env, "ALLOCATE_MAX_WAIT_SEC", 0, 3600))
        o.max_wait = std::chrono::seconds(*v);
    if (auto v = env_number<std::size_t>(env, "ALLOCATE_MAX_WAITERS", 0, 1'000'000)) o.max_waiters = *v;
    if (auto v = env_number<int>(env, "ALLOCATE_WAIT_POLL_MS", 100, 60'000))
        o.poll = std::chrono::milliseconds(*v);
    return o;
}

WaitAsked read_wait(std::string_view prefer, const std::optional<std::string>& query_wait) {
    WaitAsked asked;
    if (query_wait) {
        asked.wait = delta_seconds(*query_wait);
        if (!asked.wait) asked.error = "the wait query parameter must be a whole number of seconds";
        return asked;
    }
    // Prefer = #( token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] ) ), RFC 7240 §2.
    while (!prefer.empty()) {
        const auto comma = prefer.find(',');
        std::string_view item = prefer.substr(0, comma);
        prefer = comma == std::string_view::npos ? std::string_view{} : prefer.substr(comma + 1);
        item = item.substr(0, item.find(';'));  // parameters of a preference: none defined for wait
        const auto eq = item.find('=');
        const std::string_view name = trim_ows(item.substr(0, eq));
        if (!iequals_ascii(name, "wait")) continue;
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : trim_ows(item.substr(eq + 1));
        asked.wait = delta_seconds(value);
        if (!asked.wait) asked.error = "Prefer: wait must be a whole number of seconds (e.g. wait=30)";
        return asked;
    }
    return asked;
}

}  // namespace broker
