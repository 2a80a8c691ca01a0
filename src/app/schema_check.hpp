// The store's schema at the commands' edge: `migrate` (and `migrate --status`), and the check
// `run`, `serve` and `worker` make before they use a store. A binary never downgrades a store:
// one newer than it knows is refused by migrate, and served only when the store records that
// this binary's version may run on it (store/schema_steps.hpp).
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace broker {

// `migrate`: brings the store up to date and says what it did. Throws ConfigError (exit 2)
// naming both versions when the store is newer than this binary; changes nothing then.
void migrate_store(Store& store, const std::string& where, std::ostream& out);

// `migrate --status`: the store's version, this binary's, what the store is compatible from,
// and the pending steps one line each. Changes nothing.
void print_schema_status(const SchemaStatus& status, const std::string& where, std::ostream& out);

// Before `run`, `serve` or `worker` use the store: migrates it when it is this binary's version
// or older; uses a newer store as it is when the store says this binary is compatible (with a
// warning); otherwise throws ConfigError (exit 2) naming both versions. These commands open a
// DynamoDB store without DynamoOptions::create_table, so a missing table stops them
// (ConfigError, exit 2) instead of being created.
void prepare_store(Store& store, const std::string& where, std::string_view command);

}  // namespace broker
