// The SQLite store's outbox schema step; its statements are in sql/outbox.sql.
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

}  // namespace broker::sqlite
