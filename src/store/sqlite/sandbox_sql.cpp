// Row mapping and helpers shared by the SQLite store's reads and writes.
#include "store/sqlite/sandbox_sql.hpp"

#include "core/errors.hpp"
#include "store/sqlite/outbox_ops.hpp"

namespace broker::sqlite {

std::string prefix_upper_bound(std::string_view prefix) {
    std::string upper(prefix);
    while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xFF) upper.pop_back();
    if (!upper.empty()) upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
    return upper;
}

Sandbox read_sandbox(const Query& row) {
    Sandbox s;
    s.sandbox_id = row.text(0);
    s.name = row.text(1);
    s.external_id = row.text(2);
    s.sfdc_account_id = row.text(3);
    const std::string status = row.text(4);
    auto parsed = parse_status(status);
    if (!parsed)
        throw StoreUnavailable("SQLite row " + s.sandbox_id + " has unknown status '" + status + "'");
    s.status = *parsed;
    s.allocated_to_track = row.text(5);
    s.track_name = row.text(6);
    s.idempotency_key = row.text(7);
    s.allocated_at = row.optional_integer(8);
    s.expires_at = row.optional_integer(9);
    s.deletion_requested_at = row.optional_integer(10);
    s.deletion_retry_count = static_cast<int>(row.integer(11));
    s.created_at = row.integer(12);
    s.updated_at = row.integer(13);
    s.version = row.integer(14);
    return s;
}

void record_event(Connection& conn, const std::string& sandbox_id, UnixSeconds at,
                  std::optional<SandboxStatus> from, SandboxStatus to, std::string_view actor,
                  std::string_view reason) {
    auto q = conn.query(kInsertEventSql);
    q.bind(1, sandbox_id).bind(2, at);
    if (from) {
        q.bind(3, to_string(*from));
    } else {
        q.bind_null(3);
    }
    q.bind(4, to_string(to)).bind(5, actor).bind(6, reason);
    q.run();
    // Every transition's one hook: its outbox event goes into the same transaction.
    write_transition_event(conn, sandbox_id, at, from, to, actor, reason);
}

}  // namespace broker::sqlite
