// DynamoStore's counts by status: counter items instead of a count of the status index.
//
// Items (their own key prefix; no `status`, `allocated_to_track` or `idempotency_key`):
//   BROKER#COUNTS / SHARD#<n>  n_<status>: the sandboxes in that status added up by this
//                              shard's transitions; c_<status>: how many transitions touched it
//   BROKER#COUNTS / BASE       n_<status>: the reconciles' corrections; version (one more per
//                              correction), established, reconciled_at
// A status's count is the sum of its n_ over the partition (one strongly consistent Query).
// Every transition the store makes adds -1 and +1 with ADD on a shard picked at random, so a
// burst of allocations spreads over the shards rather than queueing on one item.
//
// The change and its count are two writes (no transactions), so the counts drift when a
// process dies between them, a retried ADD whose first answer was lost lands twice, or a
// writer that does not keep them (the original service, an older broker) changes the table.
// The reconcile repairs that: per status, it reads the counters, recounts the status index,
// reads the counters again, and when no transition touched the status in between (its c_ did
// not move) adds recount - count to the base, conditional on the base's version (two
// reconciles never both correct). It never sets a count: transitions adding meanwhile are not
// lost. A status that changed during its recount is left to the next reconcile. The waits
// (count_settle) before and after the recount cover the index's lag and an ADD on its way.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <thread>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

constexpr std::string_view kCountsPk = "BROKER#COUNTS";
constexpr std::string_view kBaseSk = "BASE";
constexpr int kCountShards = 8;
// Rounds of a reconcile for statuses that changed during their recount.
constexpr int kReconcileRounds = 3;

std::string count_name(SandboxStatus status) {
    return "n_" + std::string(to_string(status));
}

std::string changes_name(SandboxStatus status) {
    return "c_" + std::string(to_string(status));
}

int random_shard() {
    thread_local std::minstd_rand engine{std::random_device{}()};
    return static_cast<int>(engine() % kCountShards);
}

}  // namespace

void DynamoStore::count_transition(std::optional<SandboxStatus> from, std::optional<SandboxStatus> to) {
    if (from == to) return;
    std::string add;
    json names = json::object();
    json values = {{":one", N(1)}};
    if (from) values[":minus"] = N(-1);  // DynamoDB refuses a value the expression does not use
    const auto term = [&](SandboxStatus status, const char* delta) {
        const std::string s(to_string(status));
        if (!add.empty()) add += ", ";
        add += "#n_" + s + " " + delta + ", #c_" + s + " :one";
        names["#n_" + s] = count_name(status);
        names["#c_" + s] = changes_name(status);
    };
    if (from) term(*from, ":minus");
    if (to) term(*to, ":one");
    try {
        client_.must("UpdateItem", {{"TableName", options_.table},
                                    {"Key", key_of(kCountsPk, "SHARD#" + std::to_string(random_shard()))},
                                    {"UpdateExpression", "ADD " + add},
                                    {"ExpressionAttributeNames", names},
                                    {"ExpressionAttributeValues", values}});
    } catch (const StoreUnavailable& e) {
        spdlog::warn("DynamoDB counts: a transition was not counted (the next reconcile repairs it): {}",
                     e.what());
    }
}

DynamoStore::Counters DynamoStore::read_counters() {
    Counters c;
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(kCountsPk)}}},
                                       {"ConsistentRead", true}})) {
        for (const SandboxStatus status : kAllStatuses) {
            c.counts[status] += n_or(item, count_name(status).c_str());
            c.changes[status] += n_or(item, changes_name(status).c_str());
        }
        if (s_or(item, "SK") == kBaseSk) {
            c.version = n_or(item, "version");
            c.established = get_bool(item, "established").value_or(false);
            c.reconciled_at = n_or(item, "reconciled_at");
        }
    }
    return c;
}

std::int64_t DynamoStore::recount(SandboxStatus status) {
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
        if (!answer.contains("LastEvaluatedKey")) return n;
        request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
    }
}

StatusCounts DynamoStore::count_by_status() {
    const Counters c = read_counters();
    StatusCounts counts;
    if (!c.established) {
        // Never reconciled (a table the original service filled, before this binary's first
        // migrate): the counters do not know the pool yet.
        for (const SandboxStatus status : kAllStatuses) counts[status] = recount(status);
        return counts;
    }
    // A drift below zero (a transition counted twice) shows as none until it is repaired.
    for (const SandboxStatus status : kAllStatuses)
        counts[status] = std::max<std::int64_t>(0, c.counts[status]);
    return counts;
}

CountReconcileReport DynamoStore::reconcile_counts_if_due(UnixSeconds now) {
    const Counters c = read_counters();
    if (c.established && now - c.reconciled_at < options_.count_reconcile_period.count() &&
        now >= c.reconciled_at) {
        return {};
    }
    return reconcile_counts(now);
}

CountReconcileReport DynamoStore::reconcile_counts(UnixSeconds now) {
    CountReconcileReport report;
    report.ran = true;
    std::vector<SandboxStatus> left(kAllStatuses.begin(), kAllStatuses.end());
    const auto settle = [this] {
        if (options_.count_settle.count() > 0) std::this_thread::sleep_for(options_.count_settle);
    };
    for (int round = 0; round < kReconcileRounds && !left.empty(); ++round) {
        const Counters before = read_counters();
        settle();
        std::vector<std::int64_t> recounted;
        for (const SandboxStatus status : left) recounted.push_back(recount(status));
        count_step(CountStep::recounted);
        settle();
        const Counters after = read_counters();
        if (after.version != before.version) continue;  // another reconcile corrected meanwhile
        std::vector<SandboxStatus> busy;
        std::string add = "version :one";
        json names = json::object();
        json values = {{":one", N(1)}};
        std::int64_t corrected = 0;
        for (std::size_t i = 0; i < left.size(); ++i) {
            const SandboxStatus status = left[i];
            if (after.changes[status] != before.changes[status]) {
                busy.push_back(status);
                continue;
            }
            const std::int64_t difference = recounted[i] - after.counts[status];
            if (difference == 0) continue;
            const std::string s(to_string(status));
            add += ", #n_" + s + " :d_" + s;
            names["#n_" + s] = count_name(status);
            values[":d_" + s] = N(difference);
            corrected += difference < 0 ? -difference : difference;
        }
        count_step(CountStep::compared);
        std::string set;
        if (busy.empty()) {
            // Complete: the counts are the pool's from here on.
            set = "SET reconciled_at = :now, established = :true ";
            values[":now"] = N(now);
            values[":true"] = BOOL(true);
        }
        json request = {
            {"Key", key_of(kCountsPk, kBaseSk)},
            {"UpdateExpression", set + "ADD " + add},
            {"ConditionExpression", before.version == 0 ? "attribute_not_exists(version)" : "version = :v"},
            {"ExpressionAttributeValues", values}};
        if (before.version != 0) request["ExpressionAttributeValues"][":v"] = N(before.version);
        if (!names.empty()) request["ExpressionAttributeNames"] = names;
        // Not retried as its own after a lost answer: a second reconcile round reads the
        // version again and finds the difference gone.
        if (!conditional("UpdateItem", request)) continue;  // another reconcile corrected first
        report.corrected += corrected;
        left = std::move(busy);
    }
    report.deferred = left;
    if (report.corrected != 0 || !report.deferred.empty()) {
        spdlog::info("DynamoDB counts reconciled: corrected by {} in all, {} status(es) left to the next",
                     report.corrected, report.deferred.size());
    }
    return report;
}

}  // namespace broker
