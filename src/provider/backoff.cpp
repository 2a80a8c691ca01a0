// Backoff arithmetic and Retry-After parsing.
#include "provider/backoff.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

namespace broker {

RandomSource make_random_source(std::uint64_t seed) {
    struct State {
        std::mutex mutex;
        std::mt19937_64 engine;
        std::uniform_real_distribution<double> dist{0.0, 1.0};
    };
    auto state = std::make_shared<State>();
    state->engine.seed(seed != 0 ? seed
                                 : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
    return [state] {
        std::lock_guard lock(state->mutex);
        return state->dist(state->engine);
    };
}

Backoff::Backoff(BackoffPolicy policy, RandomSource random) : policy_(policy), random_(std::move(random)) {
    if (!random_) throw std::invalid_argument("backoff needs a random source");
    if (policy_.base.count() < 0 || policy_.cap < policy_.base) {
        throw std::invalid_argument("backoff needs 0 <= base <= cap");
    }
}

std::chrono::milliseconds Backoff::delay(int retry, std::optional<std::chrono::seconds> retry_after) const {
    if (retry_after) return std::max(std::chrono::milliseconds(0), std::chrono::milliseconds(*retry_after));
    // Double in floating point: base * 2^60 would overflow an integer long before the cap applies.
    const int exponent = std::clamp(retry - 1, 0, 62);
    const double ceiling =
        std::min(static_cast<double>(policy_.cap.count()), policy_.base.count() * std::ldexp(1.0, exponent));
    const double fraction = std::clamp(random_(), 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(ceiling * fraction + 0.5));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, UnixSeconds now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;

    std::int64_t seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && ptr == value.data() + value.size()) {
        if (seconds < 0) return std::nullopt;
        return std::chrono::seconds(seconds);
    }

    // IMF-fixdate, the only date form servers are supposed to send.
    std::tm tm{};
    const std::string text(value);
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
    const UnixSeconds at = timegm(&tm);
    return std::chrono::seconds(std::max<UnixSeconds>(0, at - now));
}

}  // namespace broker
