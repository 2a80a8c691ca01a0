// The pool's low-watermark state (POOL_LOW_WATERMARK), kept in the store beside the outbox:
// however many workers check the pool, each crossing changes the state once, conditionally,
// and writes its event (pool.low, pool.recovered) in the same change.
#pragma once

#include <string_view>

#include "core/clock.hpp"

namespace broker {

class PoolAlertStore {
  public:
    virtual ~PoolAlertStore() = default;

    // Whether the pool was last recorded as low (false when nothing was ever recorded).
    virtual bool pool_low() = 0;

    // Records the pool as low (or recovered) with its event (pool.low or pool.recovered,
    // `data_json` its data), only when the recorded state is the other one. True when this
    // call changed it; false when it was already so (another worker got there first).
    virtual bool set_pool_low(bool low, std::string_view data_json, UnixSeconds now) = 0;
};

}  // namespace broker
