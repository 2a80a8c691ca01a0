-- The SQLite store's record beside its schema version (PRAGMA user_version): the oldest
-- binary version that can run on it. Bookkeeping, not a step: the release before this one
-- reads user_version only.

-- name: compat_table_exists
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_compat'

-- name: read_compatible_from
SELECT compatible_from FROM schema_compat WHERE id = 1

-- name: create_compat_table
CREATE TABLE IF NOT EXISTS schema_compat (id INTEGER PRIMARY KEY CHECK (id = 1), compatible_from INTEGER NOT NULL)

-- name: record_compatible_from
-- ?1: the version.
INSERT INTO schema_compat (id, compatible_from) VALUES (1, ?1)
    ON CONFLICT (id) DO UPDATE SET compatible_from = excluded.compatible_from
