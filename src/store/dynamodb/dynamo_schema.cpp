// DynamoStore's table: created with its three indexes when absent, checked when present (key
// schema and indexes, each difference named), the broker's schema item, and the copy of
// sandboxes from another store.
#include <chrono>
#include <map>
#include <thread>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"
#include "store/schema_steps.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

json key_schema(const std::string& hash, const std::string& range) {
    return json::array(
        {{{"AttributeName", hash}, {"KeyType", "HASH"}}, {{"AttributeName", range}, {"KeyType", "RANGE"}}});
}

json index_definition(const std::string& name, const std::string& hash) {
    return {{"IndexName", name},
            {"KeySchema", key_schema(hash, "allocated_at")},
            {"Projection", {{"ProjectionType", "ALL"}}}};
}

// "PK (HASH), SK (RANGE)" for the key schema an answer describes.
std::string describe_keys(const json& keys) {
    std::string out;
    for (const auto& k : keys) {
        if (!out.empty()) out += ", ";
        out += k.value("AttributeName", std::string("?")) + " (" + k.value("KeyType", std::string("?")) + ")";
    }
    return out.empty() ? "none" : out;
}

// "Compatible from" as the schema item records it; nothing when it predates the record.
std::optional<int> recorded_compat(const std::optional<Item>& schema) {
    if (!schema || !schema->contains("compatible_from")) return std::nullopt;
    return static_cast<int>(n_or(*schema, "compatible_from"));
}

std::string type_of(const json& definitions, const std::string& attribute) {
    for (const auto& d : definitions) {
        if (d.value("AttributeName", std::string()) == attribute)
            return d.value("AttributeType", std::string());
    }
    return "";
}

}  // namespace

// The table's steps, as the SQL stores list theirs (summary only: DynamoDB has no DDL beyond
// the table). Step 1 creates everything, so no older binary runs without it.
std::span<const SchemaStep> dynamo_schema_steps() {
    static const SchemaStep steps[] = {
        {"the table with its three indexes (DDB_GSI1_NAME..3), time-to-live on ttl, the broker's schema item",
         "", false},
        {"maintained counts by status (BROKER#COUNTS items), counted once from the table's sandboxes", ""},
    };
    static_assert(std::size(steps) == kDynamoSchemaVersion);
    return steps;
}

MigrationReport DynamoStore::migrate() {
    const json expected_attributes =
        json::array({{{"AttributeName", "PK"}, {"AttributeType", "S"}},
                     {{"AttributeName", "SK"}, {"AttributeType", "S"}},
                     {{"AttributeName", "status"}, {"AttributeType", "S"}},
                     {{"AttributeName", "allocated_at"}, {"AttributeType", "N"}},
                     {{"AttributeName", "allocated_to_track"}, {"AttributeType", "S"}},
                     {{"AttributeName", "idempotency_key"}, {"AttributeType", "S"}}});
    const struct {
        const std::string& name;
        const char* hash;
        const char* setting;
    } indexes[] = {{options_.status_index, "status", "DDB_GSI1_NAME"},
                   {options_.track_index, "allocated_to_track", "DDB_GSI2_NAME"},
                   {options_.idempotency_index, "idempotency_key", "DDB_GSI3_NAME"}};

    DynamoReply described = client_.call("DescribeTable", {{"TableName", options_.table}});
    if (described.is("ResourceNotFoundException") && !options_.create_table) {
        throw ConfigError("DynamoDB table " + options_.table + " does not exist in region " +
                          options_.client.region +
                          (options_.client.endpoint.empty() ? "" : " at " + options_.client.endpoint) +
                          ": check DDB_TABLE_NAME and AWS_REGION, or run sandbox-broker migrate to create "
                          "it (no other command creates a table)");
    }
    const bool creating = described.is("ResourceNotFoundException");
    if (creating) {
        json gsis = json::array();
        for (const auto& i : indexes) gsis.push_back(index_definition(i.name, i.hash));
        client_.must("CreateTable", {{"TableName", options_.table},
                                     {"AttributeDefinitions", expected_attributes},
                                     {"KeySchema", key_schema("PK", "SK")},
                                     {"GlobalSecondaryIndexes", gsis},
                                     {"BillingMode", "PAY_PER_REQUEST"}});
        // A new table answers only once ACTIVE (seconds on AWS, a moment on an emulator).
        for (int i = 0;; ++i) {
            described = client_.call("DescribeTable", {{"TableName", options_.table}});
            if (described.ok() && described.body["Table"].value("TableStatus", "") == "ACTIVE") break;
            if (i == 600)
                throw StoreUnavailable("DynamoDB table " + options_.table + " did not become ACTIVE");
            std::this_thread::sleep_for(std::chrono::milliseconds(i < 20 ? 50 : 500));
        }
        DynamoReply ttl = client_.call(
            "UpdateTimeToLive", {{"TableName", options_.table},
                                 {"TimeToLiveSpecification", {{"Enabled", true}, {"AttributeName", "ttl"}}}});
        // Emulators without time-to-live (dynalite) answer UnknownOperationException: the
        // table works without it, expired broker items just stay.
        if (!ttl.ok() && !ttl.is("UnknownOperationException")) {
            throw StoreUnavailable("DynamoDB UpdateTimeToLive failed: " + ttl.error_type + ": " +
                                   ttl.message);
        }
    } else if (!described.ok()) {
        throw StoreUnavailable("DynamoDB DescribeTable failed: " + described.error_type + ": " +
                               described.message);
    }

    // The table as it is must be the layout: say precisely what differs.
    const json& table = described.body["Table"];
    std::vector<std::string> problems;
    const json keys = table.value("KeySchema", json::array());
    if (keys != key_schema("PK", "SK")) {
        problems.push_back("key schema is " + describe_keys(keys) + ", expected PK (HASH), SK (RANGE)");
    }
    const json definitions = table.value("AttributeDefinitions", json::array());
    for (const char* a : {"PK", "SK"}) {
        if (type_of(definitions, a) != "S")
            problems.push_back(std::string("attribute ") + a + " is not of type S");
    }
    const json gsis = table.value("GlobalSecondaryIndexes", json::array());
    for (const auto& want : indexes) {
        const auto found = std::find_if(gsis.begin(), gsis.end(), [&](const json& g) {
            return g.value("IndexName", std::string()) == want.name;
        });
        if (found == gsis.end()) {
            problems.push_back("index " + want.name + " (" + want.setting + ") is missing");
            continue;
        }
        const json got = found->value("KeySchema", json::array());
        if (got != key_schema(want.hash, "allocated_at")) {
            problems.push_back("index " + want.name + " (" + want.setting + ") has keys " +
                               describe_keys(got) + ", expected " + want.hash +
                               " (HASH), allocated_at (RANGE)");
        }
        const std::string projection = found->value("Projection", json::object()).value("ProjectionType", "");
        if (projection != "ALL") {
            problems.push_back("index " + want.name + " (" + want.setting + ") projects " + projection +
                               ", expected ALL");
        }
        if (type_of(definitions, want.hash) != "S")
            problems.push_back("attribute " + std::string(want.hash) + " is not of type S");
    }
    if (!gsis.empty() && type_of(definitions, "allocated_at") != "N")
        problems.push_back("attribute allocated_at is not of type N");
    if (!problems.empty()) {
        std::string message = "DynamoDB table " + options_.table + " does not have the expected layout:";
        for (const auto& p : problems) message += " " + p + ";";
        throw ConfigError(message);
    }

    // The broker's schema item; then every allocation without a slot (made by the original
    // service before the switch) gets one, so idempotency and the limit hold for it.
    const auto schema = get_item("BROKER#SCHEMA", "VERSION");
    const int from = schema ? static_cast<int>(n_or(*schema, "version")) : 0;
    if (from > kDynamoSchemaVersion) {
        throw StoreUnavailable(
            "DynamoDB table " + options_.table + ": " +
            describe_newer_store(schema_status_of(dynamo_schema_steps(), from, recorded_compat(schema))) +
            "; this binary never downgrades a store");
    }
    const auto now = static_cast<UnixSeconds>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    for (const auto& item : by_status(SandboxStatus::allocated))
        adopt_allocation(sandbox_from_item(item), now);
    // The maintained counts: a new table's are zero; a table filled without them (by the
    // original service, or a release before them) is counted now, when the step is applied.
    // Later drift (a rollback's writes) is the periodic reconcile's.
    constexpr int kCountsStep = 2;
    if (creating) {
        Item base = key_of("BROKER#COUNTS", "BASE");
        base["version"] = N(1);
        base["established"] = BOOL(true);
        base["reconciled_at"] = N(now);
        conditional("PutItem", {{"Item", base}, {"ConditionExpression", "attribute_not_exists(PK)"}});
    } else if (from < kCountsStep || !read_counters().established) {
        reconcile_counts(now);
    }
    const int compat = compatible_from(dynamo_schema_steps(), kDynamoSchemaVersion);
    if (from < kDynamoSchemaVersion || recorded_compat(schema) != compat) {
        Item version = key_of("BROKER#SCHEMA", "VERSION");
        version["version"] = N(kDynamoSchemaVersion);
        version["compatible_from"] = N(compat);
        version["migrated_at"] = N(now);
        client_.must("PutItem", {{"TableName", options_.table}, {"Item", version}});
    }
    return {from, kDynamoSchemaVersion};
}

SchemaStatus DynamoStore::schema_status() {
    const DynamoReply described = client_.call("DescribeTable", {{"TableName", options_.table}});
    if (described.is("ResourceNotFoundException"))
        return schema_status_of(dynamo_schema_steps(), 0, std::nullopt);
    if (!described.ok()) {
        throw StoreUnavailable("DynamoDB DescribeTable failed: " + described.error_type + ": " +
                               described.message);
    }
    const auto schema = get_item("BROKER#SCHEMA", "VERSION");
    const int version = schema ? static_cast<int>(n_or(*schema, "version")) : 0;
    return schema_status_of(dynamo_schema_steps(), version, recorded_compat(schema));
}

std::int64_t DynamoStore::insert_copied(std::span<const CopiedSandbox> sandboxes) {
    // A source may hold what the broker never makes: one participant's key on two
    // allocations. Refused whole, before anything is written, rather than pick one.
    std::map<std::pair<std::string, std::string>, std::string> keys;  // (participant, key) -> id
    for (const auto& copied : sandboxes) {
        const Sandbox& s = copied.sandbox;
        if (s.status != SandboxStatus::allocated || s.allocated_to_track.empty()) continue;
        const auto [it, fresh] =
            keys.emplace(std::pair{s.allocated_to_track, s.idempotency_key}, s.sandbox_id);
        if (!fresh && it->second != s.sandbox_id) {
            throw StoreUnavailable("copy refused: sandboxes " + it->second + " and " + s.sandbox_id +
                                   " are both allocated to one participant under one key");
        }
    }
    for (const auto& [owner, id] : keys) {
        for (const auto& slot : read_slots(owner.first)) {
            if (slot.key != owner.second || slot.sandbox_id == id) continue;
            const auto held = get(slot.sandbox_id);
            if (held && held->status == SandboxStatus::allocated && held->allocated_to_track == owner.first) {
                throw StoreUnavailable("copy refused: sandbox " + id +
                                       " is allocated under a key whose holder " + "here already holds " +
                                       slot.sandbox_id);
            }
        }
    }
    std::int64_t written = 0;
    for (const auto& copied : sandboxes) {
        const Sandbox& s = copied.sandbox;
        if (s.sandbox_id.empty() || !is_valid_utf8(s.sandbox_id)) continue;
        if (get(s.sandbox_id)) {
            // Already here (an earlier run of the copy): only make sure its slot exists.
            adopt_allocation(s, s.updated_at);
            continue;
        }
        // History first, under keys taken from the source's events (a rerun writes the same
        // items again), then the sandbox: a crash between leaves a rerun to finish it.
        for (std::size_t i = 0; i < copied.history.size(); ++i) {
            SandboxEvent e = copied.history[i];
            e.sandbox_id = s.sandbox_id;
            client_.must("PutItem", {{"TableName", options_.table}, {"Item", event_item(e, i)}});
        }
        Item item = sandbox_item(s, options_.lab_duration_hours);
        if (!conditional("PutItem", {{"Item", item}, {"ConditionExpression", "attribute_not_exists(PK)"}}))
            continue;
        ++written;
        count_transition(std::nullopt, s.status);  // a copy has no history event of its own to count
        adopt_allocation(s, s.updated_at);
    }
    return written;
}

}  // namespace broker
