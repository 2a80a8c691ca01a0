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
    row.expect_columns(kSandboxColumns);
    Sandbox s;
    s.sandbox_id = row.text(sandbox_column("sandbox_id"));
    s.name = row.text(sandbox_column("name"));
    s.external_id = row.text(sandbox_column("external_id"));
    s.sfdc_account_id = row.text(sandbox_column("sfdc_account_id"));
    const std::string status = row.text(sandbox_column("status"));
    auto parsed = parse_status(status);
    if (!parsed)
        throw StoreUnavailable("SQLite row " + s.sandbox_id + " has unknown status '" + status + "'");
    s.status = *parsed;
    s.allocated_to_track = row.text(sandbox_column("allocated_to_track"));
    s.track_name = row.text(sandbox_column("track_name"));
    s.idempotency_key = row.text(sandbox_column("idempotency_key"));
    s.allocated_at = row.optional_integer(sandbox_column("allocated_at"));
    s.expires_at = row.optional_integer(sandbox_column("expires_at"));
    s.deletion_requested_at = row.optional_integer(sandbox_column("deletion_requested_at"));
    s.deletion_retry_count = static_cast<int>(row.integer(sandbox_column("deletion_retry_count")));
    s.created_at = row.integer(sandbox_column("created_at"));
    s.updated_at = row.integer(sandbox_column("updated_at"));
    s.version = row.integer(sandbox_column("version"));
    return s;
}

namespace {

void insert_history(Connection& conn, const std::string& sandbox_id, UnixSeconds at,
                    std::optional<SandboxStatus> from, SandboxStatus to, std::string_view actor,
                    std::string_view reason) {
    auto q = conn.query(sql::kInsertEvent);
    // Every text outlives the Query (parameters and constants): bound without a copy.
    q.bind_view(1, sandbox_id).bind(2, at);
    if (from) {
        q.bind_view(3, to_string(*from));
    } else {
        q.bind_null(3);
    }
    q.bind_view(4, to_string(to)).bind_view(5, actor).bind_view(6, reason);
    q.run();
}

}  // namespace

void record_event(Connection& conn, const std::string& sandbox_id, UnixSeconds at,
                  std::optional<SandboxStatus> from, SandboxStatus to, std::string_view actor,
                  std::string_view reason) {
    insert_history(conn, sandbox_id, at, from, to, actor, reason);
    // Every transition's one hook: its outbox event goes into the same transaction.
    write_transition_event(conn, sandbox_id, nullptr, at, from, to, actor, reason);
}

void record_event(Connection& conn, const Sandbox& after, UnixSeconds at, std::optional<SandboxStatus> from,
                  std::string_view actor, std::string_view reason) {
    insert_history(conn, after.sandbox_id, at, from, after.status, actor, reason);
    write_transition_event(conn, after.sandbox_id, &after, at, from, after.status, actor, reason);
}

}  // namespace broker::sqlite
