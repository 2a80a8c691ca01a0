-- The PostgreSQL store's schema version (one schema_migrations row per step applied) and the
-- record beside it: the oldest binary version that can run on the schema. Bookkeeping, not
-- steps: the release before this one reads schema_migrations only.

-- name: migration_lock
-- Taken by the migration's transaction; keyed by the schema, so migrations of different
-- schemas (one per test) do not queue.
SELECT pg_advisory_xact_lock(hashtext('sandbox-broker migrate'), hashtext(coalesce(current_schema(), '')))

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())

-- name: migrations_table_exists
SELECT to_regclass('schema_migrations') IS NOT NULL

-- name: read_version
SELECT coalesce(max(version), 0) FROM schema_migrations

-- name: record_step
-- $1: the version the step brought the schema to.
INSERT INTO schema_migrations (version) VALUES ($1)

-- name: compat_table_exists
SELECT to_regclass('schema_compat') IS NOT NULL

-- name: read_compatible_from
SELECT compatible_from FROM schema_compat WHERE id = 1

-- name: create_compat_table
CREATE TABLE IF NOT EXISTS schema_compat (id integer PRIMARY KEY CHECK (id = 1), compatible_from integer NOT NULL)

-- name: record_compatible_from
-- $1: the version.
INSERT INTO schema_compat (id, compatible_from) VALUES (1, $1)
    ON CONFLICT (id) DO UPDATE SET compatible_from = excluded.compatible_from
