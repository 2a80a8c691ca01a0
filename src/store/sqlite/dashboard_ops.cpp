// The dashboard's reads on SQLite: see dashboard_ops.hpp. The statements are constants;
// filters that are not given are bound as '' and switch themselves off.
#include "store/sqlite/dashboard_ops.hpp"

#include <algorithm>
#include <string_view>

#include "store/sqlite/sandbox_sql.hpp"

namespace broker::sqlite {
namespace {

#define COLS                                                                                   \
    "sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name, " \
    "idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count, " \
    "created_at, updated_at, version"

// The last id of the kSearchScanRows rows after the cursor (none when fewer remain): the end
// of what one filtered page looks at. Walks the primary key only. ?1 cursor, ?2 offset.
constexpr std::string_view kScanBoundSql =
    "SELECT sandbox_id FROM sandboxes WHERE sandbox_id > ?1 ORDER BY sandbox_id LIMIT 1 OFFSET ?2";

// ?1 cursor, ?2 scan bound (NULL: to the end), ?3 limit, ?4 status ('' = every status but
// deleted), ?5 q, ?6 track, ?7 name prefix. Names compare as bytes (BLOB), as allocation's
// prefix does.
constexpr std::string_view kSearchSql =
    "SELECT " COLS
    " FROM sandboxes WHERE sandbox_id > ?1 AND (?2 IS NULL OR sandbox_id <= ?2) "
    "AND (CASE WHEN ?4 = '' THEN +status <> 'deleted' ELSE +status = ?4 END) "
    "AND (?5 = '' OR sandbox_id = ?5 OR allocated_to_track = ?5 OR instr(name, ?5) > 0) "
    "AND (?6 = '' OR track_name = ?6) "
    "AND (?7 = '' OR substr(CAST(name AS BLOB), 1, length(CAST(?7 AS BLOB))) = CAST(?7 AS BLOB)) "
    "ORDER BY sandbox_id LIMIT ?3";

// Allocations in a window: rows allocated then, still held or since returned (a returned one
// keeps its allocated_at and has its deletion_requested_at). Ranges of the
// sandboxes_allocation_window index, which covers every column read.
#define WINDOW_ROWS                                                        \
    " FROM sandboxes WHERE allocated_at >= ?1 AND allocated_at <= ?2 AND " \
    "(status = 'allocated' OR deletion_requested_at IS NOT NULL)"

// ?1 since, ?2 now, ?3 recent since. Duration of a held one: until now; of a returned one:
// until it was returned.
constexpr std::string_view kWindowSql =
    "SELECT count(*), coalesce(sum(status = 'allocated'), 0), coalesce(sum(d), 0), coalesce(max(d), 0), "
    "coalesce(min(d), 0), coalesce(sum(allocated_at >= ?3), 0) FROM (SELECT status, allocated_at, "
    "max(0, CASE WHEN status = 'allocated' THEN ?2 ELSE deletion_requested_at END - allocated_at) AS "
    "d" WINDOW_ROWS ")";

// ?1 since, ?2 now, ?3 how many tracks.
constexpr std::string_view kTracksSql = "SELECT track_name, sum(status = 'allocated'), count(*)" WINDOW_ROWS
                                        " GROUP BY track_name ORDER BY count(*) DESC, track_name LIMIT ?3";

// ?1 from, ?2 to (exclusive: the bound is the next minute's start).
constexpr std::string_view kAllocatedBetweenSql =
    "SELECT count(*) FROM sandboxes WHERE allocated_at >= ?1 AND allocated_at < ?2 AND "
    "(status = 'allocated' OR deletion_requested_at IS NOT NULL)";

// The partial indexes on pending and failed rows bound it to the backlog. ?1 now.
constexpr std::string_view kBacklogSql =
    "SELECT coalesce(sum(status = 'pending_deletion'), 0), coalesce(sum(status = 'deletion_failed'), 0), "
    "coalesce(sum(claim_until > ?1), 0), coalesce(sum(status = 'pending_deletion' AND "
    "deletion_retry_count > 0), 0) FROM sandboxes WHERE status IN ('pending_deletion', 'deletion_failed')";

// ?1 limit.
constexpr std::string_view kFailuresSql =
    "SELECT " COLS
    ", last_error, next_attempt_at FROM sandboxes WHERE status IN ('pending_deletion', 'deletion_failed') "
    "AND deletion_retry_count > 0 ORDER BY next_attempt_at IS NULL, next_attempt_at, sandbox_id LIMIT ?1";

constexpr std::string_view kRecordSampleSql =
    "INSERT INTO pool_samples (at, available, allocated, pending_deletion, stale, deletion_failed, deleted, "
    "allocations) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (at) DO UPDATE SET "
    "available = excluded.available, allocated = excluded.allocated, "
    "pending_deletion = excluded.pending_deletion, stale = excluded.stale, "
    "deletion_failed = excluded.deletion_failed, deleted = excluded.deleted, "
    "allocations = excluded.allocations";

constexpr std::string_view kSamplesSql =
    "SELECT at, available, allocated, pending_deletion, stale, deletion_failed, deleted, allocations "
    "FROM pool_samples WHERE at >= ?1 AND at <= ?2 ORDER BY at LIMIT ?3";

constexpr std::string_view kPruneSamplesSql = "DELETE FROM pool_samples WHERE at < ?1";

#undef WINDOW_ROWS
#undef COLS

}  // namespace

ListPage search_sandboxes(Connection& conn, const SandboxSearch& search) {
    constexpr int kMaxLimit = 1000;
    const ListQuery& query = search.page;
    const int limit = std::clamp(query.limit, 1, kMaxLimit);
    std::optional<std::string> bound;
    {
        auto b = conn.query(kScanBoundSql);
        b.bind(1, query.after_sandbox_id).bind(2, static_cast<std::int64_t>(kSearchScanRows - 1));
        if (b.step()) bound = b.text(0);
    }
    auto q = conn.query(kSearchSql);
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
        auto q = conn.query(kWindowSql);
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
    auto q = conn.query(kTracksSql);
    q.bind(1, query.since)
        .bind(2, query.now)
        .bind(3, static_cast<std::int64_t>(std::max(query.top_tracks, 0)));
    while (q.step()) stats.tracks.push_back({q.text(0), q.integer(1), q.integer(2)});
    return stats;
}

std::int64_t count_allocated_between(Connection& conn, UnixSeconds from, UnixSeconds to) {
    auto q = conn.query(kAllocatedBetweenSql);
    q.bind(1, from).bind(2, to);
    return q.step() ? q.integer(0) : 0;
}

CleanupBacklog cleanup_backlog(Connection& conn, UnixSeconds now) {
    auto q = conn.query(kBacklogSql);
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
    auto q = conn.query(kFailuresSql);
    q.bind(1, static_cast<std::int64_t>(std::max(limit, 0)));
    std::vector<DeletionFailureInfo> out;
    while (q.step()) out.push_back({read_sandbox(q), q.text(15), q.optional_integer(16)});
    return out;
}

void record_pool_sample(Connection& conn, const PoolSample& sample) {
    auto q = conn.query(kRecordSampleSql);
    q.bind(1, sample.at);
    int column = 2;
    for (const auto status : kAllStatuses) q.bind(column++, sample.counts[status]);
    q.bind(8, sample.allocations);
    q.run();
}

std::vector<PoolSample> pool_samples(Connection& conn, UnixSeconds from, UnixSeconds to, int limit) {
    auto q = conn.query(kSamplesSql);
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
    conn.query(kPruneSamplesSql).bind(1, before).run();
    return conn.changes();
}

}  // namespace broker::sqlite
