// The PostgreSQL store's sandbox operations: see sandbox_ops.hpp. Every change is a
// conditional UPDATE (status, owner in its WHERE clause) in the same statement or
// transaction as its event record.
#include "store/postgres/sandbox_ops.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "core/errors.hpp"
#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

std::optional<Sandbox> first_row(const pqxx::result& rows) {
    if (rows.empty()) return std::nullopt;
    return read_sandbox(rows[0]);
}

AllocateResult answer_for_holding(const Sandbox& held, const AllocateRequest& request) {
    if (held.allocated_to_track != request.participant_id)
        return {AllocateOutcome::key_conflict, std::nullopt};
    return {AllocateOutcome::existing, held};
}

// One attempt: the statement either returns the key's holding, takes a sandbox, or finds none.
AllocateResult allocate_once(pqxx::connection& conn, const AllocateRequest& r) {
    const UnixSeconds expires = r.lease.expires_at(r.now);
    pqxx::nontransaction tx(conn);
    pqxx::result rows;
    if (r.name_prefix.empty()) {
        rows = tx.exec_prepared(stmt::kAllocateAny, r.participant_id, r.track_name, r.idempotency_key, r.now,
                                expires);
    } else if (auto upper = utf8_prefix_upper_bound(r.name_prefix)) {
        rows = upper->empty() ? tx.exec_prepared(stmt::kAllocateFrom, r.participant_id, r.track_name,
                                                 r.idempotency_key, r.now, expires, r.name_prefix, *upper)
                              : tx.exec_prepared(stmt::kAllocateRange, r.participant_id, r.track_name,
                                                 r.idempotency_key, r.now, expires, r.name_prefix, *upper);
    } else {
        // Not UTF-8: no stored name starts with it; only the key's holding can answer.
        rows = tx.exec_prepared(stmt::kFindByKey, r.idempotency_key);
        if (rows.empty()) return {AllocateOutcome::pool_empty, std::nullopt};
        return answer_for_holding(read_sandbox(rows[0]), r);
    }
    if (rows.empty()) return {AllocateOutcome::pool_empty, std::nullopt};
    Sandbox sandbox = read_sandbox(rows[0]);
    if (rows[0][0].as<bool>()) return {AllocateOutcome::allocated, std::move(sandbox)};
    return answer_for_holding(sandbox, r);
}

}  // namespace

AllocateResult allocate(pqxx::connection& conn, const AllocateRequest& request) {
    // A twin request with the same key may commit its allocation while ours runs; the unique
    // index then refuses ours, and the next attempt finds the twin's holding.
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
        try {
            return allocate_once(conn, request);
        } catch (const pqxx::unique_violation&) {
            if (attempt == kAttempts) throw;
        }
    }
}

MarkResult mark_for_deletion(pqxx::connection& conn, const MarkForDeletionRequest& request) {
    pqxx::work tx(conn);
    // The row lock makes the decision and the change one step: a concurrent repeat waits here
    // and then reads the already-marked row.
    std::optional<Sandbox> row = first_row(tx.exec_prepared(stmt::kFindByIdForUpdate, request.sandbox_id));
    const MarkOutcome decision =
        decide_mark_for_deletion(row ? &*row : nullptr, request.participant_id, request.now, request.lease);
    if (decision == MarkOutcome::already_marked) return {decision, std::move(row)};
    if (decision != MarkOutcome::marked) return {decision, std::nullopt};
    auto marked =
        first_row(tx.exec_prepared(stmt::kMark, request.sandbox_id, request.participant_id, request.now));
    if (!marked) return {MarkOutcome::not_owner, std::nullopt};
    tx.commit();
    return {MarkOutcome::marked, std::move(marked)};
}

namespace {

UpsertSummary run_upsert(pqxx::transaction_base& tx, std::span<const ProviderSandbox> sandboxes,
                         UnixSeconds now) {
    const auto row = tx.exec_prepared1(
        stmt::kUpsert, text_array_literal(sandboxes, [](const ProviderSandbox& p) { return p.sandbox_id; }),
        text_array_literal(sandboxes, [](const ProviderSandbox& p) { return p.name; }),
        text_array_literal(sandboxes, [](const ProviderSandbox& p) { return p.external_id; }),
        text_array_literal(sandboxes, [](const ProviderSandbox& p) { return p.sfdc_account_id; }), now);
    UpsertSummary summary;
    summary.inserted = row[0].as<std::int64_t>();
    summary.revived = row[1].as<std::int64_t>();
    summary.refreshed = row[2].as<std::int64_t>() + row[4].as<std::int64_t>();
    summary.skipped = row[3].as<std::int64_t>() + row[5].as<std::int64_t>();
    return summary;
}

}  // namespace

UpsertSummary upsert_provider_sandboxes(pqxx::connection& conn, std::span<const ProviderSandbox> sandboxes,
                                        UnixSeconds now, int timeout_ms) {
    if (sandboxes.empty()) return {};
    pqxx::work tx(conn);
    tx.exec("SET LOCAL statement_timeout = " + std::to_string(timeout_ms));
    auto summary = run_upsert(tx, sandboxes, now);
    tx.commit();
    return summary;
}

SyncSummary sync_pool(pqxx::connection& conn, std::span<const ProviderSandbox> listed, UnixSeconds now,
                      int timeout_ms) {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL statement_timeout = " + std::to_string(timeout_ms));
    SyncSummary summary;
    if (!listed.empty()) summary.upsert = run_upsert(tx, listed, now);
    summary.marked_stale =
        tx.exec_prepared1(stmt::kMarkUnlistedStale,
                          text_array_literal(listed, [](const ProviderSandbox& p) { return p.sandbox_id; }),
                          now)[0]
            .as<std::int64_t>();
    tx.commit();
    return summary;
}

std::optional<Sandbox> find_sandbox(pqxx::connection& conn, const std::string& sandbox_id) {
    pqxx::nontransaction tx(conn);
    return first_row(tx.exec_prepared(stmt::kFindById, sandbox_id));
}

StatusCounts count_by_status(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    StatusCounts counts;
    for (const auto& row : tx.exec_prepared(stmt::kCountByStatus)) {
        if (auto status = parse_status(row[0].as<std::string>())) counts[*status] = row[1].as<std::int64_t>();
    }
    return counts;
}

ListPage list_sandboxes(pqxx::connection& conn, const ListQuery& query) {
    constexpr int kMaxLimit = 1000;
    const int limit = std::clamp(query.limit, 1, kMaxLimit);
    pqxx::nontransaction tx(conn);
    // One row more than the page: its presence is what says another page follows.
    const auto rows = query.status ? tx.exec_prepared(stmt::kListByStatus, query.after_sandbox_id, limit + 1,
                                                      std::string(to_string(*query.status)))
                                   : tx.exec_prepared(stmt::kListAll, query.after_sandbox_id, limit + 1);
    ListPage page;
    page.items.reserve(static_cast<std::size_t>(limit));
    for (const auto& row : rows) {
        if (static_cast<int>(page.items.size()) == limit) {
            page.next_after = page.items.back().sandbox_id;
            break;
        }
        page.items.push_back(read_sandbox(row));
    }
    return page;
}

}  // namespace broker::pg
