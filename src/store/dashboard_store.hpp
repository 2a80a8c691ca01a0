// What an operator's dashboard reads from the store: filtered pages of sandboxes, the
// allocations of a time window (durations, tracks, the recent rate), the clean-up backlog,
// the sandboxes whose deletion keeps failing, and the pool's time series (one sample a
// minute, written by one worker). Every read is bounded: an index range, a bounded walk of
// the primary key, or one partition per day of samples. A store implements it beside Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace broker {

// A page of the list with filters. Filters compare byte for byte; empty means "any".
struct SandboxSearch {
    ListQuery page;           // status, cursor and limit, as the plain list
    std::string q;            // exact sandbox id, exact participant id, or a substring of the name
    std::string track;        // track_name equal to it
    std::string name_prefix;  // name starts with it
};

// At most this many sandboxes (in id order, from the cursor) are looked at for one filtered
// page: a page may come back short, even empty, with a next_after to go on from. So a filter
// that matches little never reads the whole pool in one request.
inline constexpr int kSearchScanRows = 20'000;

// The allocations made in [since, now], and how many of them since `recent_since`.
struct AllocationWindowQuery {
    UnixSeconds since = 0;
    UnixSeconds now = 0;
    UnixSeconds recent_since = 0;
    int top_tracks = 10;
};

struct TrackAllocations {
    std::string track;  // track_name; empty for allocations that named none
    std::int64_t active = 0;
    std::int64_t total = 0;
};

struct AllocationWindowStats {
    std::int64_t allocations = 0;  // allocated in the window (current and finished)
    std::int64_t active = 0;       // of which still allocated
    // Lab durations in seconds: finished ones end when returned or expired
    // (deletion_requested_at), current ones at `now`.
    std::int64_t total_sec = 0;
    std::int64_t longest_sec = 0;
    std::int64_t shortest_sec = 0;
    std::int64_t recent = 0;               // allocated since recent_since
    std::vector<TrackAllocations> tracks;  // most allocations first, then by name; top_tracks at most
};

// The deletion backlog now.
struct CleanupBacklog {
    std::int64_t pending = 0;        // pending_deletion
    std::int64_t failed = 0;         // deletion_failed
    std::int64_t being_deleted = 0;  // of those, claimed by a cleanup run right now
    std::int64_t retrying = 0;       // pending_deletion after at least one failed attempt
};

// A sandbox whose deletion failed at least once.
struct DeletionFailureInfo {
    Sandbox sandbox;                             // pending_deletion or deletion_failed
    std::string reason;                          // the last attempt's error
    std::optional<UnixSeconds> next_attempt_at;  // when cleanup tries again
};

// One minute of the pool: counts by status at `at` and allocations made in [at - 60, at).
struct PoolSample {
    UnixSeconds at = 0;
    StatusCounts counts;
    std::int64_t allocations = 0;
};

class DashboardStore {
  public:
    virtual ~DashboardStore() = default;

    // A page of sandboxes matching the filters, ordered by id; every matching row appears in
    // exactly one page. Looks at kSearchScanRows rows at most (see there).
    virtual ListPage search(const SandboxSearch& query) = 0;

    // Aggregates over the sandboxes allocated in the window (an index range on allocated_at).
    virtual AllocationWindowStats allocation_window(const AllocationWindowQuery& query) = 0;

    // How many sandboxes were allocated in [from, to).
    virtual std::int64_t count_allocated_between(UnixSeconds from, UnixSeconds to) = 0;

    // The deletion backlog at `now` (claims whose lease ran out do not count as being deleted).
    virtual CleanupBacklog cleanup_backlog(UnixSeconds now) = 0;

    // Sandboxes whose deletion failed at least once, next attempt first, at most `limit`.
    virtual std::vector<DeletionFailureInfo> deletion_failures(int limit) = 0;

    // Writes the sample, replacing one recorded at the same second.
    virtual void record_pool_sample(const PoolSample& sample) = 0;

    // Samples with `at` in [from, to], oldest first, at most `limit`.
    virtual std::vector<PoolSample> pool_samples(UnixSeconds from, UnixSeconds to, int limit) = 0;

    // Forgets samples taken before `before`. Returns how many.
    virtual std::int64_t prune_pool_samples(UnixSeconds before) = 0;
};

}  // namespace broker
