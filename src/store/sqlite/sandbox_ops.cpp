// The SQLite store's operations: see sandbox_ops.hpp. Each write reads and changes rows in
// the same transaction, and every UPDATE repeats its precondition (status, owner) in its
// WHERE clause, so the change is conditional even if the surrounding code were wrong.
#include "store/sqlite/sandbox_ops.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/errors.hpp"
#include "store/sqlite/quota_ops.hpp"
#include "store/sqlite/sandbox_sql.hpp"

namespace broker::sqlite {
namespace {

constexpr std::string_view kSyncActor = "sync";

std::optional<Sandbox> first_row(Query& q) {
    if (!q.step()) return std::nullopt;
    return read_sandbox(q);
}

std::optional<Sandbox> pick_available(Connection& conn, const std::string& name_prefix,
                                      const std::string* held_back) {
    // Under reservations (held_back set): the same index walks, skipping held-back names.
    const bool quota = held_back != nullptr;
    if (name_prefix.empty()) {
        auto q = conn.query(quota ? sql::kPickUnreserved : sql::kPickAvailable);
        if (quota) q.bind(3, *held_back);
        return first_row(q);
    }
    const std::string upper = prefix_upper_bound(name_prefix);
    if (upper.empty()) {
        auto q = conn.query(quota ? sql::kPickUnreservedFromPrefix : sql::kPickAvailableFromPrefix);
        q.bind(1, name_prefix);
        if (quota) q.bind(3, *held_back);
        return first_row(q);
    }
    auto q = conn.query(quota ? sql::kPickUnreservedPrefix : sql::kPickAvailablePrefix);
    q.bind(1, name_prefix).bind(2, upper);
    if (quota) q.bind(3, *held_back);
    return first_row(q);
}

// Whether any sandbox of the pool has a name starting with the prefix, whatever its status.
bool prefix_known(Connection& conn, const std::string& name_prefix) {
    const std::string upper = prefix_upper_bound(name_prefix);
    auto q = conn.query(upper.empty() ? sql::kPrefixKnownFrom : sql::kPrefixKnown);
    q.bind(1, name_prefix);
    if (!upper.empty()) q.bind(2, upper);
    return q.step();
}

// Picks the first available sandbox and allocates it: a SELECT from the (status, name) index
// and an UPDATE by primary key that repeats the status condition. The row answered is the one
// read, changed as the UPDATE changed it.
std::optional<Sandbox> take_available(Connection& conn, const AllocateRequest& r,
                                      const std::string* held_back = nullptr) {
    std::optional<Sandbox> row = pick_available(conn, r.name_prefix, held_back);
    if (!row) return std::nullopt;
    const UnixSeconds expires = r.lease.expires_at(r.now);
    {
        // The request and the row outlive the Query: their texts are bound without a copy.
        auto q = conn.query(sql::kAllocateById);
        q.bind_view(1, row->sandbox_id).bind_view(2, r.participant_id).bind_view(3, r.track_name);
        q.bind_view(4, r.idempotency_key).bind(5, r.now).bind(6, expires);
        q.run();
    }
    // The pick and the UPDATE share the writer's transaction, so nobody can have taken the
    // row in between; should it happen anyway, nothing was changed and the op fails.
    if (conn.changes() != 1) {
        throw StoreUnavailable("SQLite: sandbox " + row->sandbox_id + " picked as available was not");
    }
    row->status = SandboxStatus::allocated;
    row->allocated_to_track = r.participant_id;
    row->track_name = r.track_name;
    row->idempotency_key = r.idempotency_key;
    row->allocated_at = r.now;
    row->expires_at = expires;
    row->deletion_requested_at = std::nullopt;
    row->version += 1;
    row->updated_at = r.now;
    return row;
}

AllocateResult nothing_taken(Connection& conn, const AllocateRequest& request) {
    const bool known = request.name_prefix.empty() || prefix_known(conn, request.name_prefix);
    return {known ? AllocateOutcome::pool_empty : AllocateOutcome::no_prefix_match, std::nullopt};
}

// The allocation under reservations and track limits, still inside the writer's transaction.
AllocateResult allocate_under_quota(Connection& conn, const AllocateRequest& request) {
    QuotaPlan plan = plan_quota(conn, request);
    if (plan.refusal) return {*plan.refusal, std::nullopt};
    // Nothing taken: held back for other tracks when something (matching) is available.
    const auto refused = [&]() -> AllocateResult {
        if (pick_available(conn, request.name_prefix, nullptr))
            return {AllocateOutcome::reserved_for_others, std::nullopt};
        return nothing_taken(conn, request);
    };
    if (plan.blocked_all) return refused();
    nlohmann::json held_back = plan.blocked_prefixes;
    const std::string held_back_text = held_back.dump();
    auto taken = take_available(conn, request, &held_back_text);
    if (!taken) return refused();
    charge_reservation(conn, plan.own, taken->name, request.now);
    record_event(conn, *taken, request.now, SandboxStatus::available, request.participant_id, "allocate");
    return {AllocateOutcome::allocated, std::move(taken)};
}

}  // namespace

AllocateResult allocate(Connection& conn, const AllocateRequest& request, QuotaCache& quota) {
    // The read, the decision and the change share the writer's transaction: racing requests
    // of one participant are decided one after the other, each on what the previous left.
    std::vector<Sandbox> holdings;
    {
        auto q = conn.query(sql::kHoldings);
        q.bind_view(1, request.participant_id);
        while (q.step()) holdings.push_back(read_sandbox(q));
    }
    if (auto answer = answer_from_holdings(holdings, request)) return std::move(*answer);
    if (quota.applies(conn, request)) return allocate_under_quota(conn, request);
    auto taken = take_available(conn, request);
    if (!taken) return nothing_taken(conn, request);
    record_event(conn, *taken, request.now, SandboxStatus::available, request.participant_id, "allocate");
    return {AllocateOutcome::allocated, std::move(taken)};
}

MarkResult mark_for_deletion(Connection& conn, const MarkForDeletionRequest& request) {
    std::optional<Sandbox> row = find_sandbox(conn, request.sandbox_id);
    const MarkOutcome decision =
        decide_mark_for_deletion(row ? &*row : nullptr, request.participant_id, request.now, request.lease);
    if (decision == MarkOutcome::already_marked) return {decision, std::move(row)};
    if (decision != MarkOutcome::marked) return {decision, std::nullopt};
    {
        auto q = conn.query(sql::kMark);
        q.bind_view(1, request.sandbox_id).bind_view(2, request.participant_id).bind(3, request.now);
        q.run();
    }
    // Unreachable while the transaction holds the write lock; kept as the guard of the
    // conditional UPDATE rather than trusting the read above.
    if (conn.changes() != 1) return {MarkOutcome::not_owner, std::nullopt};
    // The row read, changed as the UPDATE changed it.
    row->status = SandboxStatus::pending_deletion;
    row->deletion_requested_at = request.now;
    row->version += 1;
    row->updated_at = request.now;
    record_event(conn, *row, request.now, SandboxStatus::allocated, request.participant_id,
                 "mark-for-deletion");
    return {MarkOutcome::marked, std::move(row)};
}

ExtendResult extend_lease(Connection& conn, const ExtendLeaseRequest& request) {
    std::optional<Sandbox> row = find_sandbox(conn, request.sandbox_id);
    const ExtendDecision d = decide_extension(row ? &*row : nullptr, request.participant_id, request.seconds,
                                              request.now, request.lease);
    ExtendResult result{d.outcome, std::nullopt, d.old_expires_at, d.max_expires_at};
    if (d.outcome != ExtendOutcome::extended && d.outcome != ExtendOutcome::capped) return result;
    {
        auto q = conn.query(sql::kExtend);
        q.bind_view(1, request.sandbox_id).bind_view(2, request.participant_id).bind(3, d.old_expires_at);
        q.bind(4, row->version).bind(5, d.new_expires_at).bind(6, request.now);
        q.run();
    }
    // Unreachable while the transaction holds the write lock (the row read is the row
    // changed); kept as the guard of the conditional UPDATE.
    if (conn.changes() != 1) return {ExtendOutcome::not_allocated, std::nullopt, 0, 0};
    row->expires_at = d.new_expires_at;
    row->version += 1;
    row->updated_at = request.now;
    record_event(conn, *row, request.now, SandboxStatus::allocated, request.participant_id,
                 extension_reason(d.old_expires_at, d.new_expires_at));
    result.sandbox = std::move(row);
    return result;
}

UpsertSummary upsert_provider_sandboxes(Connection& conn, std::span<const ProviderSandbox> sandboxes,
                                        UnixSeconds now) {
    UpsertSummary summary;
    for (const auto& p : sandboxes) {
        std::optional<std::string> status;
        {
            auto q = conn.query(sql::kSyncStatus);
            q.bind(1, p.sandbox_id);
            if (q.step()) status = q.text(0);
        }
        if (!status) {
            auto q = conn.query(sql::kSyncInsert);
            q.bind(1, p.sandbox_id)
                .bind(2, p.name)
                .bind(3, p.external_id)
                .bind(4, p.sfdc_account_id)
                .bind(5, now);
            q.run();
            record_event(conn, p.sandbox_id, now, std::nullopt, SandboxStatus::available, kSyncActor,
                         "listed by provider");
            ++summary.inserted;
        } else if (*status == "stale") {
            auto q = conn.query(sql::kSyncRevive);
            q.bind(1, p.sandbox_id)
                .bind(2, p.name)
                .bind(3, p.external_id)
                .bind(4, p.sfdc_account_id)
                .bind(5, now);
            q.run();
            record_event(conn, p.sandbox_id, now, SandboxStatus::stale, SandboxStatus::available, kSyncActor,
                         "listed by provider again");
            ++summary.revived;
        } else if (*status == "available") {
            // Version and updated_at move only when a provider field really changed.
            auto q = conn.query(sql::kSyncRefresh);
            q.bind(1, p.sandbox_id)
                .bind(2, p.name)
                .bind(3, p.external_id)
                .bind(4, p.sfdc_account_id)
                .bind(5, now);
            q.run();
            ++summary.refreshed;
        } else {
            // Held, being deleted or deleted: only note that the provider still lists it.
            auto q = conn.query(sql::kSyncSeen);
            q.bind(1, p.sandbox_id).bind(2, now);
            q.run();
            ++summary.skipped;
        }
    }
    return summary;
}

std::optional<Sandbox> find_sandbox(Connection& conn, const std::string& sandbox_id) {
    auto q = conn.query(sql::kFindById);
    q.bind_view(1, sandbox_id);
    return first_row(q);
}

StatusCounts count_by_status(Connection& conn) {
    StatusCounts counts;
    auto q = conn.query(sql::kReadPoolCounts);
    while (q.step()) {
        if (auto status = parse_status(q.text(0))) counts[*status] = q.integer(1);
    }
    return counts;
}

ListPage list_sandboxes(Connection& conn, const ListQuery& query) {
    constexpr int kMaxLimit = 1000;
    const int limit = std::clamp(query.limit, 1, kMaxLimit);
    auto q = conn.query(query.status ? sql::kListByStatus : sql::kListAll);
    // One row more than the page: its presence is what says another page follows.
    q.bind(1, query.after_sandbox_id).bind(2, static_cast<std::int64_t>(limit) + 1);
    if (query.status) q.bind(3, to_string(*query.status));
    ListPage page;
    page.items.reserve(static_cast<std::size_t>(limit));
    while (q.step()) {
        if (static_cast<int>(page.items.size()) == limit) {
            page.next_after = page.items.back().sandbox_id;
            break;
        }
        page.items.push_back(read_sandbox(q));
    }
    return page;
}

}  // namespace broker::sqlite
