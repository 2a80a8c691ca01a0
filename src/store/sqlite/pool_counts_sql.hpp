// The SQLite store's maintained counts by status: the schema step that creates them (a table
// kept by triggers on sandboxes) and the statement that reads them.
#pragma once

#include <string_view>

namespace broker::sqlite {

inline constexpr std::string_view kPoolCountsSummary = "counts by status kept by triggers (pool_counts)";

// One row per status, created for all six so the triggers only ever UPDATE. The triggers run
// inside the statement that changes a sandbox, so every writer (this binary, an older one, a
// copy, a hand-run statement) keeps the counts true in its own transaction. The step runs in
// the migration's write transaction: nothing writes between the count and the triggers.
inline constexpr std::string_view kPoolCountsStep = R"sql(
CREATE TABLE pool_counts (
    status TEXT    NOT NULL PRIMARY KEY,
    n      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO pool_counts (status, n) VALUES
    ('available', 0), ('allocated', 0), ('pending_deletion', 0),
    ('stale', 0), ('deletion_failed', 0), ('deleted', 0);
UPDATE pool_counts SET n = (SELECT count(*) FROM sandboxes WHERE sandboxes.status = pool_counts.status);
CREATE TRIGGER pool_counts_insert AFTER INSERT ON sandboxes BEGIN
    UPDATE pool_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER pool_counts_delete AFTER DELETE ON sandboxes BEGIN
    UPDATE pool_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER pool_counts_status AFTER UPDATE OF status ON sandboxes
WHEN OLD.status <> NEW.status BEGIN
    UPDATE pool_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE pool_counts SET n = n + 1 WHERE status = NEW.status;
END;
)sql";

// Six rows, whatever the pool's size.
inline constexpr std::string_view kReadPoolCountsSql = "SELECT status, n FROM pool_counts";

}  // namespace broker::sqlite
