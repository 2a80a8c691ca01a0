// The DynamoDB store a `dynamodb://` store URL names, with its settings and AWS credentials
// (the standard chain) read from the environment.
#pragma once

#include <memory>

#include "core/clock.hpp"
#include "core/env_value.hpp"
#include "store/dynamodb/dynamo_store.hpp"
#include "store/store_url.hpp"

namespace broker {

// `create_table`: whether its migrate() may create the table when absent (DynamoOptions).
std::unique_ptr<DynamoStore> open_dynamo_store(const StoreUrl& url, const EnvLookup& env, const Clock& clock,
                                               bool create_table = false);

// Throws ConfigError when a DynamoDB setting (DDB_TABLE_NAME, DDB_GSI*_NAME, DDB_ENDPOINT_URL)
// is set while the store is another one: the operator meant the table, not that store.
void refuse_dynamo_settings_elsewhere(const std::string& store_url, const EnvLookup& env);

}  // namespace broker
