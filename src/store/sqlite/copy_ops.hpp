// Writing sandboxes copied from another store (`sandbox-broker copy`) into the SQLite store.
#pragma once

#include <cstdint>
#include <span>

#include "store/lifecycle_store.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

// Inserts each sandbox whose id is not there yet, as given, with its history; runs inside the
// writer's transaction, so a sandbox and its events commit together. Returns how many it wrote.
std::int64_t insert_copied(Connection& conn, std::span<const CopiedSandbox> sandboxes);

}  // namespace broker::sqlite
