// The PostgreSQL schema as an ordered list of migrations, recorded in schema_migrations.
#pragma once

#include <pqxx/connection>

namespace broker::pg {

// The schema version this binary writes and understands.
int latest_schema_version();

// Brings the schema (of the connection's search_path) to the latest version in one
// transaction under an advisory lock, so two processes migrating at once take turns and the
// second finds nothing to do. Throws StoreUnavailable when the schema is newer than this binary.
// Returns the version found (0: none).
int apply_migrations(pqxx::connection& conn);

}  // namespace broker::pg
