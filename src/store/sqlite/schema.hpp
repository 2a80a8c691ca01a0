// The SQLite schema as an ordered list of migrations, versioned with PRAGMA user_version.
#pragma once

#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

// The schema version this binary writes and understands.
int latest_schema_version();

// Brings the schema to the latest version. Must run inside a write transaction begun with
// BEGIN IMMEDIATE, so two processes migrating at once take turns and the second finds
// nothing to do. Throws StoreUnavailable when the file is newer than this binary. Returns
// the version found (0: a new file).
int apply_migrations(Connection& conn);

}  // namespace broker::sqlite
