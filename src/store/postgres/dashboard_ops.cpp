// The dashboard's reads on PostgreSQL: see dashboard_ops.hpp. The statements are constants;
// filters that are not given are passed as '' and switch themselves off.
#include "store/postgres/dashboard_ops.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

#define COLS BROKER_PG_SANDBOX_COLUMNS

// The last id of the kSearchScanRows rows after the cursor (none when fewer remain): the end
// of what one filtered page looks at. $1 cursor, $2 offset.
constexpr const char* kScanBoundSql =
    "SELECT sandbox_id FROM sandboxes WHERE sandbox_id > $1 ORDER BY sandbox_id LIMIT 1 OFFSET $2";

// $1 cursor, $2 scan bound ('' = to the end; ids are never empty), $3 limit, $4 status ('' =
// every status but deleted), $5 q, $6 track, $7 name prefix.
constexpr const char* kSearchSql =
    "SELECT " COLS
    " FROM sandboxes WHERE sandbox_id > $1 AND ($2 = '' OR sandbox_id <= $2) "
    "AND (CASE WHEN $4 = '' THEN status <> 'deleted' ELSE status = $4 END) "
    "AND ($5 = '' OR sandbox_id = $5 OR allocated_to_track = $5 OR strpos(name, $5) > 0) "
    "AND ($6 = '' OR track_name = $6) AND ($7 = '' OR starts_with(name, $7)) "
    "ORDER BY sandbox_id LIMIT $3";

// Allocations in a window: rows allocated then, still held or since returned. Ranges of the
// sandboxes_allocation_window index, which covers every column read.
#define WINDOW_ROWS                                                                        \
    " FROM sandboxes WHERE allocated_at >= $1::bigint AND allocated_at <= $2::bigint AND " \
    "(status = 'allocated' OR deletion_requested_at IS NOT NULL)"

// $1 since, $2 now, $3 recent since.
constexpr const char* kWindowSql =
    "SELECT count(*), count(*) FILTER (WHERE status = 'allocated'), coalesce(sum(d), 0), coalesce(max(d), "
    "0), "
    "coalesce(min(d), 0), count(*) FILTER (WHERE allocated_at >= $3::bigint) FROM (SELECT status, "
    "allocated_at, "
    "greatest(0, CASE WHEN status = 'allocated' THEN $2::bigint ELSE deletion_requested_at END - "
    "allocated_at) "
    "AS d" WINDOW_ROWS ") w";

// $1 since, $2 now, $3 how many tracks.
constexpr const char* kTracksSql =
    "SELECT track_name, count(*) FILTER (WHERE status = 'allocated'), count(*)" WINDOW_ROWS
    " GROUP BY track_name ORDER BY count(*) DESC, track_name COLLATE \"C\" LIMIT $3";

constexpr const char* kAllocatedBetweenSql =
    "SELECT count(*) FROM sandboxes WHERE allocated_at >= $1::bigint AND allocated_at < $2::bigint AND "
    "(status = 'allocated' OR deletion_requested_at IS NOT NULL)";

// The partial indexes on pending and failed rows bound it to the backlog. $1 now.
constexpr const char* kBacklogSql =
    "SELECT count(*) FILTER (WHERE status = 'pending_deletion'), count(*) FILTER (WHERE status = "
    "'deletion_failed'), count(*) FILTER (WHERE deletion_claim_until > $1::bigint), count(*) FILTER (WHERE "
    "status = 'pending_deletion' AND deletion_retry_count > 0) FROM sandboxes "
    "WHERE status IN ('pending_deletion', 'deletion_failed')";

constexpr const char* kFailuresSql =
    "SELECT " COLS
    ", last_deletion_error, next_deletion_at FROM sandboxes WHERE status IN ('pending_deletion', "
    "'deletion_failed') AND deletion_retry_count > 0 ORDER BY next_deletion_at, sandbox_id LIMIT $1";

constexpr const char* kRecordSampleSql =
    "INSERT INTO pool_samples (at, available, allocated, pending_deletion, stale, deletion_failed, deleted, "
    "allocations) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (at) DO UPDATE SET "
    "available = excluded.available, allocated = excluded.allocated, "
    "pending_deletion = excluded.pending_deletion, stale = excluded.stale, "
    "deletion_failed = excluded.deletion_failed, deleted = excluded.deleted, "
    "allocations = excluded.allocations";

constexpr const char* kSamplesSql =
    "SELECT at, available, allocated, pending_deletion, stale, deletion_failed, deleted, allocations "
    "FROM pool_samples WHERE at >= $1::bigint AND at <= $2::bigint ORDER BY at LIMIT $3";

#undef WINDOW_ROWS
#undef COLS

}  // namespace

ListPage search_sandboxes(pqxx::connection& conn, const SandboxSearch& search) {
    constexpr int kMaxLimit = 1000;
    const ListQuery& query = search.page;
    const int limit = std::clamp(query.limit, 1, kMaxLimit);
    pqxx::nontransaction tx(conn);
    std::string bound;
    const auto b = tx.exec_params(kScanBoundSql, query.after_sandbox_id, kSearchScanRows - 1);
    if (!b.empty()) bound = b[0][0].as<std::string>();
    const std::string status(query.status ? to_string(*query.status) : std::string_view());
    // One row more than the page: its presence is what says another page follows.
    const auto rows = tx.exec_params(kSearchSql, query.after_sandbox_id, bound, limit + 1, status, search.q,
                                     search.track, search.name_prefix);
    ListPage page;
    for (const auto& row : rows) {
        if (static_cast<int>(page.items.size()) == limit) {
            page.next_after = page.items.back().sandbox_id;
            return page;
        }
        page.items.push_back(read_sandbox(row));
    }
    // Short page: the rest of the look-ahead matched nothing more; go on after it.
    if (!bound.empty()) page.next_after = bound;
    return page;
}

AllocationWindowStats allocation_window(pqxx::connection& conn, const AllocationWindowQuery& query) {
    pqxx::nontransaction tx(conn);
    AllocationWindowStats stats;
    const auto row = tx.exec_params1(kWindowSql, query.since, query.now, query.recent_since);
    stats.allocations = row[0].as<std::int64_t>();
    stats.active = row[1].as<std::int64_t>();
    stats.total_sec = row[2].as<std::int64_t>();
    stats.longest_sec = row[3].as<std::int64_t>();
    stats.shortest_sec = row[4].as<std::int64_t>();
    stats.recent = row[5].as<std::int64_t>();
    for (const auto& r : tx.exec_params(kTracksSql, query.since, query.now, std::max(query.top_tracks, 0))) {
        stats.tracks.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>()});
    }
    return stats;
}

std::int64_t count_allocated_between(pqxx::connection& conn, UnixSeconds from, UnixSeconds to) {
    pqxx::nontransaction tx(conn);
    return tx.exec_params1(kAllocatedBetweenSql, from, to)[0].as<std::int64_t>();
}

CleanupBacklog cleanup_backlog(pqxx::connection& conn, UnixSeconds now) {
    pqxx::nontransaction tx(conn);
    const auto row = tx.exec_params1(kBacklogSql, now);
    return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>(),
            row[3].as<std::int64_t>()};
}

std::vector<DeletionFailureInfo> deletion_failures(pqxx::connection& conn, int limit) {
    pqxx::nontransaction tx(conn);
    std::vector<DeletionFailureInfo> out;
    for (const auto& row : tx.exec_params(kFailuresSql, std::max(limit, 0))) {
        DeletionFailureInfo info{read_sandbox(row), row[15].as<std::string>(), std::nullopt};
        if (!row[16].is_null()) info.next_attempt_at = row[16].as<std::int64_t>();
        out.push_back(std::move(info));
    }
    return out;
}

void record_pool_sample(pqxx::connection& conn, const PoolSample& s) {
    pqxx::nontransaction tx(conn);
    const StatusCounts& c = s.counts;
    tx.exec_params(kRecordSampleSql, s.at, c[SandboxStatus::available], c[SandboxStatus::allocated],
                   c[SandboxStatus::pending_deletion], c[SandboxStatus::stale],
                   c[SandboxStatus::deletion_failed], c[SandboxStatus::deleted], s.allocations);
}

std::vector<PoolSample> pool_samples(pqxx::connection& conn, UnixSeconds from, UnixSeconds to, int limit) {
    pqxx::nontransaction tx(conn);
    std::vector<PoolSample> out;
    for (const auto& row : tx.exec_params(kSamplesSql, from, to, std::max(limit, 0))) {
        PoolSample s;
        s.at = row[0].as<std::int64_t>();
        int column = 1;
        for (const auto status : kAllStatuses) s.counts[status] = row[column++].as<std::int64_t>();
        s.allocations = row[7].as<std::int64_t>();
        out.push_back(s);
    }
    return out;
}

std::int64_t prune_pool_samples(pqxx::connection& conn, UnixSeconds before) {
    pqxx::nontransaction tx(conn);
    return static_cast<std::int64_t>(
        tx.exec_params("DELETE FROM pool_samples WHERE at < $1::bigint", before).affected_rows());
}

}  // namespace broker::pg
