// The SQLite store's outbox SQL: its schema step and statements. One writer commits batches
// one after another, so AUTOINCREMENT ids become visible to readers in increasing order (and
// are never reused, even after the newest events are pruned).
#pragma once

#include <string_view>

namespace broker::sqlite {

inline constexpr std::string_view kOutboxSchemaSummary =
    "the outbox (events written with each change) and the pool's low-watermark state";
inline constexpr std::string_view kOutboxSchemaSql = R"sql(
CREATE TABLE outbox_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    sandbox_id TEXT    NOT NULL DEFAULT '',
    track      TEXT    NOT NULL DEFAULT '',
    data       TEXT    NOT NULL DEFAULT '{}'
);
CREATE TABLE pool_alert (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    low        INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO pool_alert (id, low, changed_at) VALUES (1, 0, 0);
)sql";

// ?1 type, ?2 at, ?3 sandbox id, ?4 track, ?5 data.
inline constexpr std::string_view kInsertOutboxEventSql =
    "INSERT INTO outbox_events (type, at, sandbox_id, track, data) VALUES (?1, ?2, ?3, ?4, ?5)";

// ?1 after id, ?2 limit.
inline constexpr std::string_view kReadOutboxEventsSql =
    "SELECT id, type, at, sandbox_id, track, data FROM outbox_events WHERE id > ?1 ORDER BY id LIMIT ?2";

inline constexpr std::string_view kLastOutboxEventIdSql = "SELECT coalesce(max(id), 0) FROM outbox_events";

// ?1 delivered up to, ?2 older than.
inline constexpr std::string_view kPruneOutboxEventsSql =
    "DELETE FROM outbox_events WHERE id <= ?1 AND at < ?2";

inline constexpr std::string_view kPoolLowSql = "SELECT low FROM pool_alert WHERE id = 1";

// Moves the state to ?1 (0 or 1) only when it is not that already. ?2 now.
inline constexpr std::string_view kSetPoolLowSql =
    "UPDATE pool_alert SET low = ?1, changed_at = ?2 WHERE id = 1 AND low <> ?1";

}  // namespace broker::sqlite
