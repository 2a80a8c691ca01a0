// Where the DynamoDB store lives and how it reaches it: the table and index names (the
// original service's settings DDB_TABLE_NAME, DDB_GSI1_NAME..DDB_GSI3_NAME), the endpoint
// (DDB_ENDPOINT_URL, else the regional one), the region (AWS_REGION) and the counts'
// reconcile period (DDB_COUNT_RECONCILE_SEC), with the
// `dynamodb://TABLE?region=..&endpoint=..` store URL taking precedence over the settings.
#pragma once

#include <chrono>
#include <string>

#include "core/env_value.hpp"
#include "store/dynamodb/dynamo_client.hpp"

namespace broker {

struct DynamoOptions {
    std::string table = "SandboxPool";
    std::string status_index = "StatusIndex";            // status (S) / allocated_at (N)
    std::string track_index = "TrackIndex";              // allocated_to_track (S) / allocated_at (N)
    std::string idempotency_index = "IdempotencyIndex";  // idempotency_key (S) / allocated_at (N)
    // The lab duration written on sandboxes the store inserts (`lab_duration_hours` is always
    // present on the original's items); allocation writes the request's own lease.
    double lab_duration_hours = 48;
    // Whether migrate() may create the table when it is absent. Only `migrate` and `copy` (for
    // its target) open the store so: a serving process on a mistyped table name or a wrong
    // region would otherwise create an empty table whose first sync makes every provider
    // account available, including those participants hold in the real one.
    bool create_table = false;
    // The counts by status are counter items (dynamo_counts.cpp); a recount repairs their
    // drift at most once in this period (DDB_COUNT_RECONCILE_SEC).
    std::chrono::seconds count_reconcile_period{600};
    // How long a reconcile waits before and after its recount for writes on their way (the
    // status index's lag, a change whose count is not yet added). Tests set 0.
    std::chrono::milliseconds count_settle{1000};
    ddb::DynamoClientOptions client;  // endpoint empty: the regional endpoint
};

// Settings first, then what the URL names (table, ?region=, ?endpoint=) over them. `table`,
// `region`, `endpoint` are the URL's parts, empty when it names none.
DynamoOptions dynamo_options_from_env(const std::string& table, const std::string& region,
                                      const std::string& endpoint, const EnvLookup& env);

}  // namespace broker
