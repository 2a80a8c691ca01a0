// Sharded per-client token buckets (core/token_bucket) with idle-bucket eviction.
#include "http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace broker {

RateLimiter::RateLimiter(const Clock& clock, RateLimitOptions options)
    : clock_(clock),
      options_(options),
      rate_{options.rps, options.burst},
      max_keys_per_shard_(
          std::max<std::size_t>(1, options.max_keys / std::max<std::size_t>(1, options.shards))) {
    if (!(options_.rps > 0) || !(options_.burst >= 1) || options_.shards == 0) {
        throw std::invalid_argument("rate limiter needs rps > 0, burst >= 1 and at least one shard");
    }
    shards_ = std::make_unique<Shard[]>(options_.shards);
}

std::size_t RateLimiter::sweep(Shard& shard, TokenBucket::TimePoint now) {
    shard.next_sweep = now + options_.sweep_interval;
    return std::erase_if(shard.buckets, [&](const auto& entry) {
        return entry.second.available(rate_, now) >= options_.burst;
    });
}

RateLimitDecision RateLimiter::check(std::string_view key) {
    const std::size_t hash = KeyHash{}(key);
    // The map inside the shard uses the low bits of the same hash; take the shard from the high ones.
    Shard& shard = shards_[(hash >> 32 ^ hash >> 7) % options_.shards];
    const int limit = static_cast<int>(options_.burst);
    const auto now = clock_.steady_now();

    std::lock_guard lock(shard.mutex);
    if (now >= shard.next_sweep) sweep(shard, now);

    auto it = shard.buckets.find(key);
    if (it == shard.buckets.end()) {
        if (shard.buckets.size() >= max_keys_per_shard_) {
            untracked_.fetch_add(1, std::memory_order_relaxed);
            return {true, limit, static_cast<int>(options_.burst - 1), 0};
        }
        it = shard.buckets.emplace(std::string(key), TokenBucket(rate_, now)).first;
    }
    TokenBucket& bucket = it->second;
    bucket.refill(rate_, now);
    if (bucket.try_take()) return {true, limit, static_cast<int>(std::floor(bucket.tokens())), 0};
    const double wait = (1 - bucket.tokens()) / options_.rps;
    return {false, limit, 0, std::max(1, static_cast<int>(std::ceil(wait)))};
}

std::size_t RateLimiter::tracked_keys() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < options_.shards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        total += shards_[i].buckets.size();
    }
    return total;
}

std::size_t RateLimiter::evict_idle() {
    const auto now = clock_.steady_now();
    std::size_t evicted = 0;
    for (std::size_t i = 0; i < options_.shards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        evicted += sweep(shards_[i], now);
    }
    return evicted;
}

}  // namespace broker
