// Reading the DynamoDB store's settings: see dynamo_options.hpp.
#include "store/dynamodb/dynamo_options.hpp"

#include "core/errors.hpp"

namespace broker {
namespace {

void set_if(const EnvLookup& env, const char* name, std::string& out) {
    if (auto v = env(name); v && !trim_setting(*v).empty()) out = std::string(trim_setting(*v));
}

}  // namespace

DynamoOptions dynamo_options_from_env(const std::string& table, const std::string& region,
                                      const std::string& endpoint, const EnvLookup& env) {
    DynamoOptions o;
    set_if(env, "DDB_TABLE_NAME", o.table);
    set_if(env, "DDB_GSI1_NAME", o.status_index);
    set_if(env, "DDB_GSI2_NAME", o.track_index);
    set_if(env, "DDB_GSI3_NAME", o.idempotency_index);
    set_if(env, "DDB_ENDPOINT_URL", o.client.endpoint);
    set_if(env, "AWS_REGION", o.client.region);
    if (auto v = env("LAB_DURATION_HOURS"); v && !trim_setting(*v).empty()) {
        if (auto hours = env_number<long>(env, "LAB_DURATION_HOURS", 1, 24 * 365))
            o.lab_duration_hours = static_cast<double>(*hours);
    }
    if (auto seconds = env_number<long>(env, "DDB_COUNT_RECONCILE_SEC", 60, 7 * 86400))
        o.count_reconcile_period = std::chrono::seconds(*seconds);
    if (!table.empty()) o.table = table;
    if (!region.empty()) o.client.region = region;
    if (!endpoint.empty()) o.client.endpoint = endpoint;
    if (o.client.endpoint.empty()) o.client.endpoint = ddb::regional_endpoint(o.client.region);
    return o;
}

}  // namespace broker
