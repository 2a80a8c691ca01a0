// The SQLite store's side of `copy`: see copy_ops.hpp.
#include "store/sqlite/copy_ops.hpp"

#include "sql/sqlite_queries.hpp"

namespace broker::sqlite {
namespace {

void bind_status(Query& q, int index, const std::optional<SandboxStatus>& status) {
    if (status) {
        q.bind(index, to_string(*status));
    } else {
        q.bind_null(index);
    }
}

}  // namespace

std::int64_t insert_copied(Connection& conn, std::span<const CopiedSandbox> sandboxes) {
    std::int64_t written = 0;
    for (const auto& copied : sandboxes) {
        const Sandbox& s = copied.sandbox;
        {
            auto q = conn.query(sql::kInsertCopied);
            q.bind(1, s.sandbox_id).bind(2, s.name).bind(3, s.external_id).bind(4, s.sfdc_account_id);
            q.bind(5, to_string(s.status)).bind(6, s.allocated_to_track).bind(7, s.track_name);
            q.bind(8, s.idempotency_key).bind(9, s.allocated_at).bind(10, s.expires_at);
            q.bind(11, s.deletion_requested_at).bind(12, static_cast<std::int64_t>(s.deletion_retry_count));
            // The compare-and-set token is this store's own: a copied row starts at the first one.
            q.bind(13, s.created_at).bind(14, s.updated_at).bind(15, std::int64_t{1});
            // The bookkeeping a Sandbox does not carry, as the jobs need it: a stale sandbox is
            // stale since its last change (that change made it stale), and a failed deletion is
            // due for its next attempt now, on the target's schedule.
            q.bind(16, s.status == SandboxStatus::stale ? std::optional(s.updated_at) : std::nullopt);
            q.bind(17,
                   s.status == SandboxStatus::deletion_failed ? std::optional(s.updated_at) : std::nullopt);
            q.run();
        }
        if (conn.changes() != 1) continue;  // already there: neither it nor its history again
        ++written;
        for (const auto& event : copied.history) {
            auto q = conn.query(sql::kInsertCopiedEvent);
            q.bind(1, s.sandbox_id).bind(2, event.at);
            bind_status(q, 3, event.from);
            bind_status(q, 4, event.to);
            q.bind(5, event.actor).bind(6, event.reason);
            q.run();
        }
    }
    return written;
}

}  // namespace broker::sqlite
