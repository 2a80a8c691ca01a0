// The pool's low watermark: see pool_watermark.hpp.
#include "jobs/pool_watermark.hpp"

#include <nlohmann/json.hpp>

namespace broker {

PoolWatermarkChange check_pool_watermark(PoolAlertStore& store, std::int64_t available,
                                         const PoolWatermarkSettings& settings, UnixSeconds now) {
    const bool was_low = store.pool_low();
    const std::int64_t recover_at = settings.watermark + settings.hysteresis;
    const nlohmann::json data = {
        {"available", available}, {"watermark", settings.watermark}, {"recovers_at", recover_at}};
    if (!was_low && settings.watermark > 0 && available < settings.watermark) {
        return store.set_pool_low(true, data.dump(), now) ? PoolWatermarkChange::low
                                                          : PoolWatermarkChange::none;
    }
    // Turned off (0) while low: the pool is no longer reported low.
    if (was_low && (settings.watermark == 0 || available >= recover_at)) {
        return store.set_pool_low(false, data.dump(), now) ? PoolWatermarkChange::recovered
                                                           : PoolWatermarkChange::none;
    }
    return PoolWatermarkChange::none;
}

}  // namespace broker
