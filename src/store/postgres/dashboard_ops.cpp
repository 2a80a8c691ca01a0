// The dashboard's reads on PostgreSQL: see dashboard_ops.hpp. The statements are in
// sql/dashboard.sql; filters that are not given are passed as '' and switch themselves off.
#include "store/postgres/dashboard_ops.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

// A statement of sql/dashboard.sql as libpqxx takes it.
std::string text(std::string_view statement) {
    return std::string(statement);
}

}  // namespace

ListPage search_sandboxes(pqxx::connection& conn, const SandboxSearch& search) {
    constexpr int kMaxLimit = 1000;
    const ListQuery& query = search.page;
    const int limit = std::clamp(query.limit, 1, kMaxLimit);
    pqxx::nontransaction tx(conn);
    std::string bound;
    const auto b = tx.exec_params(text(sql::kScanBound), query.after_sandbox_id, kSearchScanRows - 1);
    if (!b.empty()) bound = b[0][0].as<std::string>();
    const std::string status(query.status ? to_string(*query.status) : std::string_view());
    // One row more than the page: its presence is what says another page follows.
    const auto rows = tx.exec_params(text(sql::kSearch), query.after_sandbox_id, bound, limit + 1, status,
                                     search.q, search.track, search.name_prefix);
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
    const auto row = tx.exec_params1(text(sql::kWindow), query.since, query.now, query.recent_since);
    stats.allocations = row[0].as<std::int64_t>();
    stats.active = row[1].as<std::int64_t>();
    stats.total_sec = row[2].as<std::int64_t>();
    stats.longest_sec = row[3].as<std::int64_t>();
    stats.shortest_sec = row[4].as<std::int64_t>();
    stats.recent = row[5].as<std::int64_t>();
    for (const auto& r :
         tx.exec_params(text(sql::kTracks), query.since, query.now, std::max(query.top_tracks, 0))) {
        stats.tracks.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>()});
    }
    return stats;
}

std::int64_t count_allocated_between(pqxx::connection& conn, UnixSeconds from, UnixSeconds to) {
    pqxx::nontransaction tx(conn);
    return tx.exec_params1(text(sql::kAllocatedBetween), from, to)[0].as<std::int64_t>();
}

CleanupBacklog cleanup_backlog(pqxx::connection& conn, UnixSeconds now) {
    pqxx::nontransaction tx(conn);
    const auto row = tx.exec_params1(text(sql::kBacklog), now);
    return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>(),
            row[3].as<std::int64_t>()};
}

std::vector<DeletionFailureInfo> deletion_failures(pqxx::connection& conn, int limit) {
    pqxx::nontransaction tx(conn);
    std::vector<DeletionFailureInfo> out;
    for (const auto& row : tx.exec_params(text(sql::kFailures), std::max(limit, 0))) {
        DeletionFailureInfo info{read_sandbox(row), row["last_deletion_error"].as<std::string>(),
                                 std::nullopt};
        if (!row["next_deletion_at"].is_null())
            info.next_attempt_at = row["next_deletion_at"].as<std::int64_t>();
        out.push_back(std::move(info));
    }
    return out;
}

void record_pool_sample(pqxx::connection& conn, const PoolSample& s) {
    pqxx::nontransaction tx(conn);
    const StatusCounts& c = s.counts;
    tx.exec_params(text(sql::kRecordSample), s.at, c[SandboxStatus::available], c[SandboxStatus::allocated],
                   c[SandboxStatus::pending_deletion], c[SandboxStatus::stale],
                   c[SandboxStatus::deletion_failed], c[SandboxStatus::deleted], s.allocations);
}

std::vector<PoolSample> pool_samples(pqxx::connection& conn, UnixSeconds from, UnixSeconds to, int limit) {
    pqxx::nontransaction tx(conn);
    std::vector<PoolSample> out;
    for (const auto& row : tx.exec_params(text(sql::kSamples), from, to, std::max(limit, 0))) {
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
    return static_cast<std::int64_t>(tx.exec_params(text(sql::kPruneSamples), before).affected_rows());
}

}  // namespace broker::pg
