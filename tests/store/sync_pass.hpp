// A test's provider list synced the way the sync job does it: through the streamed calls
// (LifecycleStore::sync_part for each part, then finish_sync) in one pass of its own.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "store/lifecycle_store.hpp"

namespace broker::testing {

struct SyncOutcome {
    UpsertSummary upsert;           // the parts' summaries added up
    std::int64_t marked_stale = 0;  // what finish_sync marked
};

// Syncs `listed` in parts of `part_size` (0: the whole list as one part; an empty list sends
// no part, as an empty provider list does) under a pass no earlier call used, so what an
// earlier pass listed never counts for this one.
inline SyncOutcome sync_in_one_pass(LifecycleStore& store, std::span<const ProviderSandbox> listed,
                                    UnixSeconds now, std::size_t part_size = 0) {
    static std::atomic<std::int64_t> last_pass{0};
    const std::int64_t pass = ++last_pass;
    const std::size_t step = part_size == 0 ? std::max<std::size_t>(listed.size(), 1) : part_size;
    SyncOutcome outcome;
    for (std::size_t at = 0; at < listed.size(); at += step) {
        outcome.upsert += store.sync_part(listed.subspan(at, std::min(step, listed.size() - at)), pass, now);
    }
    outcome.marked_stale = store.finish_sync(pass, now);
    return outcome;
}

}  // namespace broker::testing
