// Writing sandboxes copied from another store (`sandbox-broker copy`) into PostgreSQL.
#pragma once

#include <cstdint>
#include <pqxx/connection>
#include <span>

#include "store/lifecycle_store.hpp"

namespace broker::pg {

// One statement: each sandbox whose id is not there yet, as given, with its history. The
// statement gets `timeout_ms` instead of the per-request timeout. Returns how many it wrote.
std::int64_t insert_copied(pqxx::connection& conn, std::span<const CopiedSandbox> sandboxes, int timeout_ms);

}  // namespace broker::pg
