// The DynamoDB store's counts by status: one counter item (COUNT#POOL / STATUS) that every
// recorded change moves with ADD, read with one GetItem, and set again from a real count by
// the pool-sample job (record_pool_sample), which corrects any drift. dynalite has no
// transactions, so a change and its ADD are two writes: a process that dies between them
// leaves the counts off by that change until a recount succeeds. A recount writes only when
// no change came while it counted (the item's change counter is unchanged), so it never
// loses a concurrent change's ADD; on a pool that never rests it may wait for a quiet minute.
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

constexpr std::string_view kCountsPk = "COUNT#POOL";
constexpr std::string_view kCountsSk = "STATUS";
// Set only by a recount: an item without it was started by ADDs before any recount (a table
// that predates the counts), so its figures are not the pool's.
constexpr std::string_view kRecountedAttr = "recounted";
// Bumped by every change: a recount writes only when no change came while it counted.
constexpr std::string_view kChangesAttr = "changes";

Item counts_key() {
    return {{"PK", S(std::string(kCountsPk))}, {"SK", S(std::string(kCountsSk))}};
}

}  // namespace

void DynamoStore::count_change(std::optional<SandboxStatus> from, std::optional<SandboxStatus> to) {
    if (from == to) return;
    std::string update = "ADD #c :plus";
    json names = {{"#c", std::string(kChangesAttr)}};
    json values = {{":plus", N(1)}};
    if (from) {
        update += ", #f :minus";
        names["#f"] = std::string(to_string(*from));
        values[":minus"] = N(-1);
    }
    if (to) {
        update += ", #t :plus";
        names["#t"] = std::string(to_string(*to));
    }
    client_.must("UpdateItem", {{"TableName", options_.table},
                                {"Key", counts_key()},
                                {"UpdateExpression", update},
                                {"ExpressionAttributeNames", names},
                                {"ExpressionAttributeValues", values}});
}

StatusCounts DynamoStore::recount_pool() {
    const auto before = get_item(std::string(kCountsPk), std::string(kCountsSk));
    StatusCounts counts;
    for (const SandboxStatus status : kAllStatuses) {
        json request = {{"TableName", options_.table},
                        {"IndexName", options_.status_index},
                        {"Select", "COUNT"},
                        {"KeyConditionExpression", "#s = :s"},
                        {"ExpressionAttributeNames", {{"#s", "status"}}},
                        {"ExpressionAttributeValues", {{":s", S(to_string(status))}}}};
        std::int64_t n = 0;
        for (;;) {
            json answer = client_.must("Query", request);
            n += answer.value("Count", 0);
            if (!answer.contains("LastEvaluatedKey")) break;
            request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
        }
        counts[status] = n;
    }
    // Written only if no change moved the item while the queries ran (its change counter is
    // what it was before them): a change in that window may be in the count, in the item or
    // in both, so the count is not written then, and the next recount tries again.
    std::string update = "SET #r = :r";
    json names = {{"#r", std::string(kRecountedAttr)}, {"#c", std::string(kChangesAttr)}};
    json values = {{":r", N(1)}};
    std::string condition = "attribute_not_exists(#c)";
    if (before && before->contains(std::string(kChangesAttr))) {
        condition = "#c = :c";
        values[":c"] = N(n_or(*before, std::string(kChangesAttr).c_str()));
    }
    for (std::size_t i = 0; i < kAllStatuses.size(); ++i) {
        const std::string n = std::to_string(i);
        update += ", #s" + n + " = :s" + n;
        names["#s" + n] = std::string(to_string(kAllStatuses[i]));
        values[":s" + n] = N(counts[kAllStatuses[i]]);
    }
    conditional("UpdateItem", {{"Key", counts_key()},
                               {"UpdateExpression", update},
                               {"ConditionExpression", condition},
                               {"ExpressionAttributeNames", names},
                               {"ExpressionAttributeValues", values}});
    return counts;
}

StatusCounts DynamoStore::count_by_status() {
    const auto item = get_item(std::string(kCountsPk), std::string(kCountsSk));
    if (!item || !item->contains(std::string(kRecountedAttr))) return recount_pool();
    StatusCounts counts;
    for (const SandboxStatus status : kAllStatuses)
        counts[status] = n_or(*item, std::string(to_string(status)).c_str());
    return counts;
}

}  // namespace broker
