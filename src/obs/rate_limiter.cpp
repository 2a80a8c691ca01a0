// Sharded token-bucket rate limiter with idle-bucket eviction.
#include "obs/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace broker {

RateLimiter::RateLimiter(const Clock& clock, RateLimitOptions options)
    : clock_(clock),
      options_(options),
      max_keys_per_shard_(std::max<std::size_t>(1, options.max_keys / std::max<std::size_t>(1, options.shards))),
      sweep_interval_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(options.sweep_interval).count()) {
    if (!(options_.rps > 0) || !(options_.burst >= 1) || options_.shards == 0) {
        throw std::invalid_argument("rate limiter needs rps > 0, burst >= 1 and at least one shard");
    }
    shards_ = std::make_unique<Shard[]>(options_.shards);
}

std::int64_t RateLimiter::now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.steady_now().time_since_epoch()).count();
}

double RateLimiter::refilled(const Bucket& bucket, std::int64_t now) const {
    const double elapsed = static_cast<double>(std::max<std::int64_t>(0, now - bucket.updated_ns)) / 1e9;
    return std::min(options_.burst, bucket.tokens + elapsed * options_.rps);
}

std::size_t RateLimiter::sweep(Shard& shard, std::int64_t now) {
    shard.next_sweep_ns = now + sweep_interval_ns_;
    return std::erase_if(shard.buckets, [&](const auto& entry) { return refilled(entry.second, now) >= options_.burst; });
}

RateLimitDecision RateLimiter::check(std::string_view key) {
    const std::size_t hash = KeyHash{}(key);
    // The map inside the shard uses the low bits of the same hash; take the shard from the high ones.
    Shard& shard = shards_[(hash >> 32 ^ hash >> 7) % options_.shards];
    const int limit = static_cast<int>(options_.burst);
    const std::int64_t now = now_ns();

    std::lock_guard lock(shard.mutex);
    if (now >= shard.next_sweep_ns) sweep(shard, now);

    auto it = shard.buckets.find(key);
    if (it == shard.buckets.end()) {
        if (shard.buckets.size() >= max_keys_per_shard_) {
            untracked_.fetch_add(1, std::memory_order_relaxed);
            return {true, limit, static_cast<int>(options_.burst - 1), 0};
        }
        it = shard.buckets.emplace(std::string(key), Bucket{options_.burst, now}).first;
    }
    Bucket& bucket = it->second;
    bucket.tokens = refilled(bucket, now);
    bucket.updated_ns = std::max(bucket.updated_ns, now);
    if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return {true, limit, static_cast<int>(std::floor(bucket.tokens)), 0};
    }
    const double wait = (1 - bucket.tokens) / options_.rps;
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
    const std::int64_t now = now_ns();
    std::size_t evicted = 0;
    for (std::size_t i = 0; i < options_.shards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        evicted += sweep(shards_[i], now);
    }
    return evicted;
}

}  // namespace broker
