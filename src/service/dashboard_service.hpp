// What the operators' dashboard reads through the admin API: the pool's statistics (counts
// with their shares, lab durations and tracks over a window, the clean-up backlog, the last
// clean-up's NIOSXaaS counts, when the pool runs out at the current pace), the pool's time
// series rolled up to a step, filtered pages of sandboxes, and the sandboxes whose deletion
// keeps failing. Input is validated here and refused with a readable reason; every answer is
// a few bounded store reads (store/dashboard_store.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "service/admin_service.hpp"
#include "store/dashboard_store.hpp"
#include "store/job_state_store.hpp"
#include "store/store.hpp"

namespace broker {

struct StatsQuery {
    std::chrono::seconds window{24 * 3600};  // lab durations and tracks: allocations made in it
    int top_tracks = 10;
};

// The NIOSXaaS clean-up counts of the cleanup job's last finished run (the job records them
// per run, in its result).
struct NiosxaasCounts {
    bool known = false;  // false: cleanup never finished a run recorded in this store
    std::optional<UnixSeconds> run_finished_at;
    std::int64_t cleaned = 0;
    std::int64_t skipped = 0;
    std::int64_t failed = 0;
    std::int64_t shadow = 0;
};

struct DashboardStats {
    UnixSeconds now = 0;
    StatsQuery query;
    StatusCounts counts;
    AllocationWindowStats window;
    CleanupBacklog backlog;
    NiosxaasCounts niosxaas;
    std::chrono::seconds rate_window{0};
    // Allocations per second over rate_window, and when `available` is used up at that pace
    // (nothing while the rate is 0).
    double rate_per_sec = 0;
    std::optional<double> exhaustion_sec;
};

struct TimeseriesQuery {
    UnixSeconds from = 0;
    UnixSeconds to = 0;
    std::int64_t step = 60;  // seconds, a multiple of a minute
};

class DashboardService {
  public:
    DashboardService(Store& store, DashboardStore& dashboard, JobStateStore& job_states, const Clock& clock);

    // The allocation rate behind the time until the pool runs out.
    static constexpr std::chrono::seconds kRateWindow{15 * 60};
    static constexpr int kMaxTopTracks = 100;
    static constexpr double kMaxWindowHours = 24.0 * 366;
    static constexpr std::int64_t kMaxTimeseriesSpan = 31 * 86400;
    static constexpr std::int64_t kMaxTimeseriesPoints = 10'000;
    static constexpr std::size_t kMaxFilterBytes = 256;

    // `window_hours` (fractions allowed, above 0, at most a year; default 24) and `top` (1 to 100;
    // default 10).
    static Checked<StatsQuery> parse_stats_query(const std::optional<std::string>& window_hours,
                                                 const std::optional<std::string>& top);
    DashboardStats stats(const StatsQuery& query);

    // The list's status, limit and cursor (AdminService::parse_list_query) and the filters
    // `q`, `track`, `prefix` (valid UTF-8, at most kMaxFilterBytes each).
    static Checked<SandboxSearch> parse_search(const std::optional<std::string>& status,
                                               const std::optional<std::string>& limit,
                                               const std::optional<std::string>& cursor,
                                               const std::optional<std::string>& q,
                                               const std::optional<std::string>& track,
                                               const std::optional<std::string>& prefix);
    AdminPage search(const SandboxSearch& query);
    // The same page with its raw continuation (the CSV export pages through it itself).
    ListPage search_page(const SandboxSearch& query);

    // `from`, `to` (Unix seconds; default the 24 hours up to now) and `step` (seconds, a
    // multiple of 60; default 60): at most kMaxTimeseriesSpan and kMaxTimeseriesPoints.
    Checked<TimeseriesQuery> parse_timeseries(const std::optional<std::string>& from,
                                              const std::optional<std::string>& to,
                                              const std::optional<std::string>& step) const;
    // One point per step that has samples, at the step's start (aligned to the epoch): the
    // pool as its last sample in the step saw it, and the allocations of all its samples.
    std::vector<PoolSample> timeseries(const TimeseriesQuery& query);

    // `limit`: 1 to 1000, default 100.
    static Checked<int> parse_failures_limit(const std::optional<std::string>& limit);
    std::vector<DeletionFailureInfo> deletion_failures(int limit);

    UnixSeconds now() const { return clock_.now(); }

  private:
    NiosxaasCounts last_cleanup_niosxaas();

    Store& store_;
    DashboardStore& dashboard_;
    JobStateStore& job_states_;
    const Clock& clock_;
};

}  // namespace broker
