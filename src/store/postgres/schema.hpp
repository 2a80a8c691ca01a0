// The PostgreSQL schema as an ordered list of migrations, recorded in schema_migrations.
#pragma once

#include <pqxx/connection>
#include <span>

#include "store/schema_steps.hpp"

namespace broker::pg {

// The schema version this binary writes and understands.
int latest_schema_version();

// Brings the schema (of the connection's search_path) to the latest version in one
// transaction under an advisory lock, so two processes migrating at once take turns and the
// second finds nothing to do. Records the version binaries must have to run on the schema
// (the schema_compat row). Throws StoreUnavailable when the schema is newer than this binary,
// and leaves it as it is. Returns the version found (0: none).
int apply_migrations(pqxx::connection& conn);

// The schema's version next to this binary's. Reads only.
SchemaStatus schema_status(pqxx::connection& conn);

// The steps, in order (for the expand-only check).
std::span<const SchemaStep> schema_steps();

}  // namespace broker::pg
