// Opening the DynamoDB store from its URL and settings: see open_dynamo_store.hpp.
#include "store/dynamodb/open_dynamo_store.hpp"

#include "core/errors.hpp"

namespace broker {

std::unique_ptr<DynamoStore> open_dynamo_store(const StoreUrl& url, const EnvLookup& env, const Clock& clock,
                                               bool create_table) {
    DynamoOptions options = dynamo_options_from_env(url.target, url.region, url.endpoint, env);
    options.create_table = create_table;
    std::shared_ptr<AwsCredentialProvider> credentials = aws_credential_chain(env, clock);
    return std::make_unique<DynamoStore>(std::move(options), std::move(credentials));
}

void refuse_dynamo_settings_elsewhere(const std::string& store_url, const EnvLookup& env) {
    if (parse_store_url(store_url).kind == StoreUrl::Kind::dynamodb) return;
    for (const char* name : {"DDB_TABLE_NAME", "DDB_GSI1_NAME", "DDB_GSI2_NAME", "DDB_GSI3_NAME",
                             "DDB_ENDPOINT_URL", "DDB_COUNT_RECONCILE_SEC"}) {
        if (env(name)) {
            throw ConfigError(
                std::string(name) + " is set, but the store is " + redact_store_url(store_url) +
                ": the DDB_* settings belong to the DynamoDB store; set BROKER_STORE (or --store) "
                "to dynamodb://TABLE, or remove them");
        }
    }
}

}  // namespace broker
