// The PostgreSQL store's sandbox operations: see sandbox_ops.hpp. Every change is a
// conditional UPDATE (the status, or the version read that stands for it, and the owner in
// its WHERE clause) in the same statement or transaction as its event record.
#include "store/postgres/sandbox_ops.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <vector>

#include "core/errors.hpp"
#include "store/postgres/pg_sql.hpp"
#include "store/postgres/pool_listener.hpp"
#include "store/postgres/quota_ops.hpp"

namespace broker::pg {
namespace {

std::optional<Sandbox> first_row(const pqxx::result& rows) {
    if (rows.empty()) return std::nullopt;
    return read_sandbox(rows[0]);
}

// Reads the row with `find`, decides the mark on it and, when it is to be marked, updates it
// if it still has the version read. Nothing when the row changed in between.
std::optional<MarkResult> decide_and_mark(pqxx::transaction_base& tx, const char* find,
                                          const MarkForDeletionRequest& request) {
    std::optional<Sandbox> row = first_row(tx.exec_prepared(find, request.sandbox_id));
    const MarkOutcome decision =
        decide_mark_for_deletion(row ? &*row : nullptr, request.participant_id, request.now, request.lease);
    if (decision == MarkOutcome::already_marked) return MarkResult{decision, std::move(row)};
    if (decision != MarkOutcome::marked) return MarkResult{decision, std::nullopt};
    auto marked = first_row(tx.exec_prepared(stmt::kMarkAtVersion, request.sandbox_id, request.participant_id,
                                             request.now, row->version));
    if (!marked) return std::nullopt;
    return MarkResult{MarkOutcome::marked, std::move(marked)};
}

// The answer when the participant's holdings decide it (the statement's rows, taken = false).
AllocateResult answer_from_rows(const pqxx::result& rows, const AllocateRequest& r,
                                AllocateOutcome when_free) {
    std::vector<Sandbox> holdings;
    holdings.reserve(rows.size());
    for (const auto& row : rows) holdings.push_back(read_sandbox(row, kAfterTaken));
    if (auto answer = answer_from_holdings(holdings, r)) return std::move(*answer);
    return {when_free, std::nullopt};
}

// Nothing was available: whether that is because no sandbox matches the prefix at all.
AllocateOutcome nothing_available(pqxx::transaction_base& tx, const AllocateRequest& r,
                                  const std::string& upper) {
    if (r.name_prefix.empty()) return AllocateOutcome::pool_empty;
    const bool known = tx.exec_prepared1(upper.empty() ? stmt::kPrefixKnownFrom : stmt::kPrefixKnownRange,
                                         r.name_prefix, upper)[0]
                           .as<bool>();
    return known ? AllocateOutcome::pool_empty : AllocateOutcome::no_prefix_match;
}

// One attempt: the statement either takes a sandbox, returns the holdings that decide the
// answer, or finds nothing available.
AllocateResult allocate_plain(pqxx::connection& conn, const AllocateRequest& r, bool& under_quota) {
    const UnixSeconds expires = r.lease.expires_at(r.now);
    const int limit = std::max(1, r.max_per_participant);
    pqxx::nontransaction tx(conn);
    pqxx::result rows;
    std::string upper;
    // Without a prefix there is no bound either: allocate_from from '', every name.
    if (auto bound = utf8_prefix_upper_bound(r.name_prefix)) {
        upper = std::move(*bound);
        rows = upper.empty()
                   ? tx.exec_prepared(stmt::kAllocateFrom, r.participant_id, r.track_name, r.idempotency_key,
                                      r.now, expires, limit, r.name_prefix, upper)
                   : tx.exec_prepared(stmt::kAllocateRange, r.participant_id, r.track_name, r.idempotency_key,
                                      r.now, expires, limit, r.name_prefix, upper);
    } else {
        // Not UTF-8: no stored name starts with it; only the participant's holdings can answer.
        return answer_from_rows(tx.exec_prepared(stmt::kHoldings, r.participant_id), r,
                                AllocateOutcome::no_prefix_match);
    }
    if (rows.empty()) {
        // The plain statement steps aside when a reservation or a limit may apply.
        if (quota_applies(tx, r)) {
            under_quota = true;
            return {};
        }
        return {nothing_available(tx, r, upper), std::nullopt};
    }
    if (rows[0][0].as<bool>()) return {AllocateOutcome::allocated, read_sandbox(rows[0], kAfterTaken)};
    // The statement returns holdings only when they decide, so `take` cannot come back here.
    return answer_from_rows(rows, r, AllocateOutcome::pool_empty);
}

AllocateResult allocate_once(pqxx::connection& conn, const AllocateRequest& r) {
    bool under_quota = false;
    AllocateResult result = allocate_plain(conn, r, under_quota);
    return under_quota ? allocate_under_quota(conn, r) : result;
}

}  // namespace

AllocateResult allocate(pqxx::connection& conn, const AllocateRequest& request) {
    // Racing allocations of one participant may commit while ours runs; a unique index then
    // refuses ours, and the next attempt decides on what they left. Each round lets at least
    // one racer through, so the limit plus two rounds always reach an answer.
    // Each refusal is a race lost to a concurrent allocation: counted in the answer.
    const int attempts = std::max(1, request.max_per_participant) + 2;
    for (int attempt = 1;; ++attempt) {
        try {
            AllocateResult result = allocate_once(conn, request);
            result.conflicts = attempt - 1;
            return result;
        } catch (const pqxx::unique_violation&) {
            if (attempt == attempts) throw;
        }
    }
}

MarkResult mark_for_deletion(pqxx::connection& conn, const MarkForDeletionRequest& request) {
    {
        // Most marks meet no concurrent change: a plain read and an update conditional on the
        // version read, each its own autocommit statement, are two round trips instead of
        // four (BEGIN, the locked read, the update, COMMIT).
        pqxx::nontransaction tx(conn);
        if (auto result = decide_and_mark(tx, stmt::kFindById, request)) return std::move(*result);
    }
    // The row changed after it was read (a concurrent repeat, the expiry job): decide again
    // on what it is now, under its lock. The row lock makes the decision and the change one
    // step: a concurrent repeat waits here and then reads the already-marked row.
    pqxx::work tx(conn);
    auto result = decide_and_mark(tx, stmt::kFindByIdForUpdate, request);
    if (!result) return {MarkOutcome::not_owner, std::nullopt};
    tx.commit();
    return std::move(*result);
}

ExtendResult extend_lease(pqxx::connection& conn, const ExtendLeaseRequest& request) {
    pqxx::work tx(conn);
    // The row lock makes the decision and the change one step, and keeps the expiry job (which
    // skips locked rows) off it meanwhile; expiry that locked it first is waited for and read.
    std::optional<Sandbox> row = first_row(tx.exec_prepared(stmt::kFindByIdForUpdate, request.sandbox_id));
    const ExtendDecision d = decide_extension(row ? &*row : nullptr, request.participant_id, request.seconds,
                                              request.now, request.lease);
    ExtendResult result{d.outcome, std::nullopt, d.old_expires_at, d.max_expires_at};
    if (d.outcome != ExtendOutcome::extended && d.outcome != ExtendOutcome::capped) return result;
    auto extended = first_row(tx.exec_prepared(stmt::kExtend, request.sandbox_id, request.participant_id,
                                               d.old_expires_at, row->version, d.new_expires_at, request.now,
                                               extension_reason(d.old_expires_at, d.new_expires_at)));
    if (!extended) return {ExtendOutcome::not_allocated, std::nullopt, 0, 0};
    tx.commit();
    result.sandbox = std::move(extended);
    return result;
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
    // Waiting allocations on every replica listen (store/postgres/pool_listener); the
    // notification is delivered only if this transaction commits.
    if (summary.inserted + summary.revived > 0) tx.exec(std::string("NOTIFY ") + kPoolChannel);
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

UpsertSummary sync_part(pqxx::connection& conn, std::span<const ProviderSandbox> part, std::int64_t pass,
                        UnixSeconds now, int timeout_ms) {
    if (part.empty()) return {};
    pqxx::work tx(conn);
    tx.exec("SET LOCAL statement_timeout = " + std::to_string(timeout_ms));
    const auto summary = run_upsert(tx, part, now);
    tx.exec_prepared(stmt::kSyncListPart, pass,
                     text_array_literal(part, [](const ProviderSandbox& p) { return p.sandbox_id; }), now);
    tx.commit();
    return summary;
}

std::int64_t finish_sync(pqxx::connection& conn, std::int64_t pass, UnixSeconds now,
                         UnixSeconds forget_before, int timeout_ms) {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL statement_timeout = " + std::to_string(timeout_ms));
    const auto marked = tx.exec_prepared1(stmt::kMarkUnlistedByPass, pass, now)[0].as<std::int64_t>();
    tx.exec_prepared(stmt::kForgetSyncPass, pass, forget_before);
    tx.commit();
    return marked;
}

void forget_sync(pqxx::connection& conn, std::int64_t pass, UnixSeconds forget_before) {
    pqxx::work tx(conn);
    tx.exec_prepared(stmt::kForgetSyncPass, pass, forget_before);
    tx.commit();
}

std::optional<Sandbox> find_sandbox(pqxx::connection& conn, const std::string& sandbox_id) {
    pqxx::nontransaction tx(conn);
    return first_row(tx.exec_prepared(stmt::kFindById, sandbox_id));
}

StatusCounts count_by_status(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    StatusCounts counts;
    for (const auto& row : tx.exec_prepared(stmt::kReadPoolCounts)) {
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
