// Token-bucket rate limiter, one bucket per client key (see client_key.hpp for the key).
//
// Buckets live in sharded maps, each shard with its own mutex, so requests of different
// clients rarely meet on a lock. A bucket that has refilled to full is indistinguishable
// from one never created, so such buckets are evicted by a periodic per-shard sweep:
// memory follows the clients active in the last refill window, not every key ever seen.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/token_bucket.hpp"

namespace broker {

struct RateLimitOptions {
    double rps = 50;     // RATE_LIMIT_RPS: sustained requests per second
    double burst = 200;  // RATE_LIMIT_BURST: bucket capacity
    std::size_t shards = 64;
    // How often each shard is swept for full (idle) buckets.
    std::chrono::milliseconds sweep_interval{1000};
    // Hard cap on tracked keys, split evenly across shards. A flood of distinct keys that
    // reaches it is served untracked (allowed): per-key limiting cannot stop rotating keys
    // anyway, and refusing new clients would shut out real participants.
    std::size_t max_keys = 1 << 20;
};

struct RateLimitDecision {
    bool allowed = true;
    int limit = 0;                // X-RateLimit-Limit: the burst
    int remaining = 0;            // X-RateLimit-Remaining: whole tokens left
    int retry_after_seconds = 0;  // Retry-After when refused: until one token is back
};

class RateLimiter {
  public:
    // Throws std::invalid_argument unless rps > 0, burst >= 1 and shards >= 1.
    RateLimiter(const Clock& clock, RateLimitOptions options = {});

    // Takes one token from the key's bucket if there is one.
    RateLimitDecision check(std::string_view key);

    // Buckets currently held (locks every shard: for tests and diagnostics).
    std::size_t tracked_keys() const;
    // Sweeps every shard now; returns how many buckets were evicted.
    std::size_t evict_idle();
    // Requests served untracked because the key cap was reached.
    std::uint64_t untracked() const { return untracked_.load(std::memory_order_relaxed); }
    const RateLimitOptions& options() const { return options_; }

  private:
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
    };
    struct KeyEqual {
        using is_transparent = void;
        bool operator()(std::string_view a, std::string_view b) const { return a == b; }
    };
    struct alignas(64) Shard {
        std::mutex mutex;
        std::unordered_map<std::string, TokenBucket, KeyHash, KeyEqual> buckets;
        TokenBucket::TimePoint next_sweep{};
    };

    std::size_t sweep(Shard& shard, TokenBucket::TimePoint now);

    const Clock& clock_;
    RateLimitOptions options_;
    TokenRate rate_;
    std::size_t max_keys_per_shard_;
    std::unique_ptr<Shard[]> shards_;
    std::atomic<std::uint64_t> untracked_{0};
};

}  // namespace broker
