// The dashboard's reads on SQLite: see dashboard_ops.hpp. The statements are in
// sql/dashboard.sql; filters that are not given are bound as '' and switch themselves off.
#include "store/sqlite/dashboard_ops.hpp"

#include <algorithm>
#include <string_view>

#include "store/sqlite/sandbox_sql.hpp"

namespace broker::sqlite {
namespace {

// What the failures statement returns: the sandbox, then these two.
constexpr auto kFailureColumns = sandbox_columns_and<2>({"last_error", "next_attempt_at"});

}  // namespace

ListPage search_sandboxes(Connection& conn, const SandboxSearch& search) {
    constexpr int kMaxLimit = 1000;
    const ListQuery& query = search.page;
    const int limit = std::clamp(query.limit, 1, kMaxLimit);
    std::optional<std::string> bound;
    {
        auto b = conn.query(sql::kScanBound);
        b.bind(1, query.after_sandbox_id).bind(2, static_cast<std::int64_t>(kSearchScanRows - 1));
        if (b.step()) bound = b.text(0);
    }
    auto q = conn.query(sql::kSearch);
    q.bind(1, query.after_sandbox_id);
    if (bound) {
        q.bind(2, *bound);
    } else {
        q.bind_null(2);
    }
    // One row more than the page: its presence is what says another page follows.
    q.bind(3, static_cast<std::int64_t>(limit) + 1);
    // "" and not a default string_view: SQLite binds a null pointer as NULL, which no filter equals.
    q.bind(4, query.status ? to_string(*query.status) : std::string_view(""));
    q.bind(5, search.q).bind(6, search.track).bind(7, search.name_prefix);
    ListPage page;
    while (q.step()) {
        if (static_cast<int>(page.items.size()) == limit) {
            page.next_after = page.items.back().sandbox_id;
            return page;
        }
        page.items.push_back(read_sandbox(q));
    }
    // Short page: the rest of the look-ahead matched nothing more; go on after it.
    if (bound) page.next_after = *bound;
    return page;
}

AllocationWindowStats allocation_window(Connection& conn, const AllocationWindowQuery& query) {
    AllocationWindowStats stats;
    {
        auto q = conn.query(sql::kWindow);
        q.bind(1, query.since).bind(2, query.now).bind(3, query.recent_since);
        if (q.step()) {
            stats.allocations = q.integer(0);
            stats.active = q.integer(1);
            stats.total_sec = q.integer(2);
            stats.longest_sec = q.integer(3);
            stats.shortest_sec = q.integer(4);
            stats.recent = q.integer(5);
        }
    }
    auto q = conn.query(sql::kTracks);
    q.bind(1, query.since)
        .bind(2, query.now)
        .bind(3, static_cast<std::int64_t>(std::max(query.top_tracks, 0)));
    while (q.step()) stats.tracks.push_back({q.text(0), q.integer(1), q.integer(2)});
    return stats;
}

std::int64_t count_allocated_between(Connection& conn, UnixSeconds from, UnixSeconds to) {
    auto q = conn.query(sql::kAllocatedBetween);
    q.bind(1, from).bind(2, to);
    return q.step() ? q.integer(0) : 0;
}

CleanupBacklog cleanup_backlog(Connection& conn, UnixSeconds now) {
    auto q = conn.query(sql::kBacklog);
    q.bind(1, now);
    CleanupBacklog backlog;
    if (q.step()) {
        backlog.pending = q.integer(0);
        backlog.failed = q.integer(1);
        backlog.being_deleted = q.integer(2);
        backlog.retrying = q.integer(3);
    }
    return backlog;
}

std::vector<DeletionFailureInfo> deletion_failures(Connection& conn, int limit) {
    auto q = conn.query(sql::kFailures);
    q.bind(1, static_cast<std::int64_t>(std::max(limit, 0)));
    std::vector<DeletionFailureInfo> out;
    q.expect_columns(kFailureColumns);
    constexpr int kLastError = static_cast<int>(kSandboxColumns.size());
    while (q.step()) out.push_back({read_sandbox(q), q.text(kLastError), q.optional_integer(kLastError + 1)});
    return out;
}

void record_pool_sample(Connection& conn, const PoolSample& sample) {
    auto q = conn.query(sql::kRecordSample);
    q.bind(1, sample.at);
    int column = 2;
    for (const auto status : kAllStatuses) q.bind(column++, sample.counts[status]);
    q.bind(8, sample.allocations);
    q.run();
}

std::vector<PoolSample> pool_samples(Connection& conn, UnixSeconds from, UnixSeconds to, int limit) {
    auto q = conn.query(sql::kSamples);
    q.bind(1, from).bind(2, to).bind(3, static_cast<std::int64_t>(std::max(limit, 0)));
    std::vector<PoolSample> out;
    while (q.step()) {
        PoolSample s;
        s.at = q.integer(0);
        int column = 1;
        for (const auto status : kAllStatuses) s.counts[status] = q.integer(column++);
        s.allocations = q.integer(7);
        out.push_back(s);
    }
    return out;
}

std::int64_t prune_pool_samples(Connection& conn, UnixSeconds before) {
    conn.query(sql::kPruneSamples).bind(1, before).run();
    return conn.changes();
}

}  // namespace broker::sqlite
