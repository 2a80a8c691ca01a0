// The SQLite schema as an ordered list of migrations, versioned with PRAGMA user_version.
#pragma once

#include <span>

#include "store/schema_steps.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

// The schema version this binary writes and understands.
int latest_schema_version();

// Brings the schema to the latest version. Must run inside a write transaction begun with
// BEGIN IMMEDIATE, so two processes migrating at once take turns and the second finds
// nothing to do. Records the version binaries must have to run on the store (the
// schema_compat row). Throws StoreUnavailable when the file is newer than this binary, and
// leaves it as it is. Returns the version found (0: a new file).
int apply_migrations(Connection& conn);

// The file's schema next to this binary's. Reads only.
SchemaStatus schema_status(Connection& conn);

// The steps, in order (for the expand-only check).
std::span<const SchemaStep> schema_steps();

}  // namespace broker::sqlite
