// The pool's low watermark: when the available sandboxes fall below POOL_LOW_WATERMARK the
// store records the pool as low with a pool.low event; once they are back at the watermark
// plus POOL_LOW_HYSTERESIS, pool.recovered. The state lives in the store and changes
// conditionally, so however many workers check, each crossing is one event; the margin keeps
// a pool hovering at the watermark from alerting on every allocation.
#pragma once

#include <cstdint>

#include "core/clock.hpp"
#include "store/pool_alert_store.hpp"

namespace broker {

struct PoolWatermarkSettings {
    std::int64_t watermark = 5;   // POOL_LOW_WATERMARK; 0: never low
    std::int64_t hysteresis = 5;  // POOL_LOW_HYSTERESIS
};

enum class PoolWatermarkChange {
    none,       // no crossing, or another worker recorded it first
    low,        // this call recorded pool.low
    recovered,  // this call recorded pool.recovered
};

PoolWatermarkChange check_pool_watermark(PoolAlertStore& store, std::int64_t available,
                                         const PoolWatermarkSettings& settings, UnixSeconds now);

}  // namespace broker
