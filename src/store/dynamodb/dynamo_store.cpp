// DynamoStore: reads, returns, sync and the shared helpers. Allocation is in
// dynamo_allocate.cpp, deletion and job state in dynamo_lifecycle.cpp, the table's creation
// and checks in dynamo_schema.cpp.
#include "store/dynamodb/dynamo_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "core/errors.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

// Event ids: increasing within this process and (being microseconds of the wall clock at
// least) across processes in practice, so a sandbox's events sort in the order written.
// A name for this store object as the outbox relay's lease holder: unique across processes.
std::string make_relay_id() {
    std::random_device random;
    return std::to_string(::getpid()) + "-" + std::to_string(random()) + "-" + std::to_string(random());
}

std::int64_t next_event_id() {
    static std::atomic<std::int64_t> last{0};
    const std::int64_t wall = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    std::int64_t prev = last.load();
    std::int64_t next = 0;
    do {
        next = std::max(prev + 1, wall);
    } while (!last.compare_exchange_weak(prev, next));
    return next;
}

}  // namespace

DynamoStore::DynamoStore(DynamoOptions options, std::shared_ptr<AwsCredentialProvider> credentials)
    : options_(std::move(options)),
      client_(options_.client, std::move(credentials)),
      relay_id_(make_relay_id()) {}

DynamoStore::~DynamoStore() = default;

std::optional<Item> DynamoStore::get_item(const std::string& pk, const std::string& sk, bool consistent) {
    json answer = client_.must(
        "GetItem", {{"TableName", options_.table}, {"Key", key_of(pk, sk)}, {"ConsistentRead", consistent}});
    if (!answer.contains("Item")) return std::nullopt;
    return std::move(answer["Item"]);
}

std::vector<Item> DynamoStore::query_all(json request, std::size_t max_items) {
    request["TableName"] = options_.table;
    std::vector<Item> items;
    for (;;) {
        json answer = client_.must("Query", request);
        for (auto& item : answer["Items"]) {
            items.push_back(std::move(item));
            if (items.size() >= max_items) return items;
        }
        if (!answer.contains("LastEvaluatedKey")) return items;
        request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
    }
}

std::vector<Item> DynamoStore::by_status(SandboxStatus status, std::size_t max_items) {
    return query_all({{"IndexName", options_.status_index},
                      {"KeyConditionExpression", "#s = :s"},
                      {"ExpressionAttributeNames", {{"#s", "status"}}},
                      {"ExpressionAttributeValues", {{":s", S(to_string(status))}}}},
                     max_items);
}

std::vector<Item> DynamoStore::batch_get(const std::vector<Item>& keys_asked) {
    // BatchGetItem refuses a request that names one key twice (ValidationException): each
    // key is read once, whoever asks for it several times.
    std::vector<Item> keys;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& key : keys_asked) {
        if (seen.emplace(s_or(key, "PK"), s_or(key, "SK")).second) keys.push_back(key);
    }
    std::vector<Item> items;
    for (std::size_t at = 0; at < keys.size(); at += 100) {
        json pending = json::array();
        for (std::size_t i = at; i < std::min(keys.size(), at + 100); ++i) pending.push_back(keys[i]);
        for (int round = 0; !pending.empty(); ++round) {
            if (round == 10) throw StoreUnavailable("DynamoDB BatchGetItem: keys left unprocessed");
            json answer = client_.must(
                "BatchGetItem",
                {{"RequestItems", {{options_.table, {{"Keys", pending}, {"ConsistentRead", true}}}}}});
            for (auto& item : answer["Responses"][options_.table]) items.push_back(std::move(item));
            pending = json::array();
            if (answer.contains("UnprocessedKeys") && answer["UnprocessedKeys"].contains(options_.table)) {
                pending = answer["UnprocessedKeys"][options_.table]["Keys"];
            }
        }
    }
    return items;
}

DynamoReply DynamoStore::write(std::string_view operation, json request, const ShowsOwnWrite& own) {
    request["TableName"] = options_.table;
    DynamoReply reply = client_.call(operation, request);
    if (!reply.is("ConditionalCheckFailedException") || !reply.maybe_applied || !own) return reply;
    const json& key = request.contains("Key") ? request["Key"] : request["Item"];
    const auto item = get_item(s_or(key, "PK"), s_or(key, "SK"));
    if (!own(item ? &*item : nullptr)) return reply;
    DynamoReply applied;
    applied.maybe_applied = true;
    if (item) applied.body["Attributes"] = *item;
    return applied;
}

bool DynamoStore::conditional(std::string_view operation, json request, const ShowsOwnWrite& own) {
    DynamoReply reply = write(operation, std::move(request), own);
    if (reply.ok()) return true;
    if (reply.is("ConditionalCheckFailedException")) return false;
    throw StoreUnavailable("DynamoDB " + std::string(operation) + " failed: " + reply.error_type +
                           (reply.message.empty() ? "" : ": " + reply.message));
}

void DynamoStore::record(const std::string& sandbox_id, UnixSeconds at, std::optional<SandboxStatus> from,
                         std::optional<SandboxStatus> to, const std::string& actor, const std::string& reason,
                         const std::optional<CarriedEvent>& carried, const Item* after) {
    if (carried) outbox_step(OutboxStep::change_written);
    count_transition(from, to);  // first: the shortest time a change is in the table, not counted
    SandboxEvent e{next_event_id(), sandbox_id, at, from, to, actor, reason};
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", event_item(e)}});
    if (!carried) return;
    std::optional<Sandbox> row;
    if (after) {
        row = sandbox_from_item(*after);
    } else {
        row = get(sandbox_id);  // the item as the change left it (strongly consistent)
    }
    if (!row) return;  // removed at once by another writer: the relay drops the intent with the item
    write_pending_event(carried->type, at, sandbox_id, row->track_name,
                        transition_event_data(*row, from, actor, reason), &*carried);
}

std::optional<Sandbox> DynamoStore::get(const std::string& sandbox_id) {
    if (!is_valid_utf8(sandbox_id) || sandbox_id.empty()) return std::nullopt;
    auto item = get_item(sandbox_pk(sandbox_id), std::string(kSandboxSort));
    if (!item) return std::nullopt;
    return sandbox_from_item(*item);
}

MarkResult DynamoStore::mark_for_deletion(const MarkForDeletionRequest& r) {
    // Decide on a strongly consistent read, change conditionally on what was read; a racing
    // change makes the condition fail and the decision is taken again on the new state.
    for (int attempt = 0; attempt < 5; ++attempt) {
        std::optional<Sandbox> row = get(r.sandbox_id);
        const MarkOutcome decision =
            decide_mark_for_deletion(row ? &*row : nullptr, r.participant_id, r.now, r.lease);
        if (decision == MarkOutcome::already_marked) return {decision, std::move(row)};
        if (decision != MarkOutcome::marked) return {decision, std::nullopt};
        const auto carried =
            intend_event(r.sandbox_id, r.now, SandboxStatus::allocated, SandboxStatus::pending_deletion,
                         r.participant_id, "mark-for-deletion");
        json request = {
            {"Key", key_of(sandbox_pk(r.sandbox_id), kSandboxSort)},
            {"UpdateExpression", "SET #s = :pending, deletion_requested_at = :now, updated_at = :now"},
            {"ConditionExpression", "#s = :allocated AND allocated_to_track = :p AND allocated_at = :at"},
            {"ExpressionAttributeNames", {{"#s", "status"}}},
            {"ExpressionAttributeValues",
             {{":pending", S("pending_deletion")},
              {":allocated", S("allocated")},
              {":now", N(r.now)},
              {":p", S(r.participant_id)},
              {":at", N(row->allocated_at.value_or(0))}}},
            {"ReturnValues", "ALL_NEW"}};
        carry(request, carried);
        DynamoReply reply = write("UpdateItem", request, [&](const Item* item) {
            return item && s_or(*item, "status") == "pending_deletion" &&
                   s_or(*item, "allocated_to_track") == r.participant_id &&
                   n_or(*item, "allocated_at") == row->allocated_at.value_or(0) &&
                   n_or(*item, "deletion_requested_at") == r.now;
        });
        if (reply.is("ConditionalCheckFailedException")) {
            drop_intent(carried);
            continue;
        }
        if (!reply.ok()) throw StoreUnavailable("DynamoDB UpdateItem (mark) failed: " + reply.error_type);
        Sandbox marked = sandbox_from_item(reply.body["Attributes"]);
        record(r.sandbox_id, r.now, SandboxStatus::allocated, SandboxStatus::pending_deletion,
               r.participant_id, "mark-for-deletion", carried, &reply.body["Attributes"]);
        return {MarkOutcome::marked, std::move(marked)};
    }
    throw StoreUnavailable("DynamoDB mark-for-deletion: the sandbox kept changing");
}

ExtendResult DynamoStore::extend_lease(const ExtendLeaseRequest& r) {
    // The item keeps the original's attributes only: an extension rewrites lab_duration_hours
    // (expires_at = allocated_at + lab_duration_hours), conditional on status, owner,
    // allocated_at and the duration read, so a racing expiry (conditional on the same
    // duration) or a racing extension makes one of the two fail and decide again.
    if (!is_valid_utf8(r.sandbox_id) || r.sandbox_id.empty()) return ExtendResult{};  // not_found
    for (int attempt = 0; attempt < 5; ++attempt) {
        const auto item = get_item(sandbox_pk(r.sandbox_id), std::string(kSandboxSort));
        std::optional<Sandbox> row;
        if (item) row = sandbox_from_item(*item);
        const ExtendDecision d =
            decide_extension(row ? &*row : nullptr, r.participant_id, r.seconds, r.now, r.lease);
        ExtendResult result{d.outcome, std::nullopt, d.old_expires_at, d.max_expires_at};
        if (d.outcome != ExtendOutcome::extended && d.outcome != ExtendOutcome::capped) return result;
        const UnixSeconds allocated_at = row->allocated_at.value_or(0);
        const json hours = N_decimal(static_cast<double>(d.new_expires_at - allocated_at) / 3600.0);
        json values = {{":allocated", S("allocated")},
                       {":p", S(r.participant_id)},
                       {":at", N(allocated_at)},
                       {":hours", hours},
                       {":now", N(r.now)}};
        std::string condition = "#s = :allocated AND allocated_to_track = :p AND allocated_at = :at AND ";
        if (item->contains("lab_duration_hours")) {
            condition += "lab_duration_hours = :old";
            values[":old"] = item->at("lab_duration_hours");
        } else {
            condition += "attribute_not_exists(lab_duration_hours)";
        }
        const std::string reason = extension_reason(d.old_expires_at, d.new_expires_at);
        const auto carried = intend_event(r.sandbox_id, r.now, SandboxStatus::allocated,
                                          SandboxStatus::allocated, r.participant_id, reason);
        json request = {{"Key", key_of(sandbox_pk(r.sandbox_id), kSandboxSort)},
                        {"UpdateExpression", "SET lab_duration_hours = :hours, updated_at = :now"},
                        {"ConditionExpression", condition},
                        {"ExpressionAttributeNames", {{"#s", "status"}}},
                        {"ExpressionAttributeValues", values},
                        {"ReturnValues", "ALL_NEW"}};
        carry(request, carried);
        DynamoReply reply = write("UpdateItem", request, [&](const Item* found) {
            if (!found || s_or(*found, "status") != "allocated" ||
                s_or(*found, "allocated_to_track") != r.participant_id || n_or(*found, "updated_at") != r.now)
                return false;
            return sandbox_from_item(*found).expires_at == d.new_expires_at;
        });
        if (reply.is("ConditionalCheckFailedException")) {
            drop_intent(carried);
            continue;
        }
        if (!reply.ok()) throw StoreUnavailable("DynamoDB UpdateItem (extend) failed: " + reply.error_type);
        result.sandbox = sandbox_from_item(reply.body["Attributes"]);
        record(r.sandbox_id, r.now, SandboxStatus::allocated, SandboxStatus::allocated, r.participant_id,
               reason, carried, &reply.body["Attributes"]);
        return result;
    }
    throw StoreUnavailable("DynamoDB extend: the sandbox kept changing");
}

UpsertSummary DynamoStore::upsert(std::span<const ProviderSandbox> sandboxes, UnixSeconds now,
                                  std::optional<std::int64_t> pass) {
    UpsertSummary summary;
    // A repeated id counts once with its last fields; the repeats count as the first
    // occurrence left it (refreshed unless held or being deleted).
    std::map<std::string, const ProviderSandbox*> listed;
    std::map<std::string, std::int64_t> repeats;
    for (const auto& p : sandboxes) {
        if (!listed.emplace(p.sandbox_id, &p).second) {
            listed[p.sandbox_id] = &p;
            ++repeats[p.sandbox_id];
        }
    }
    std::vector<Item> keys;
    for (const auto& [id, p] : listed) keys.push_back(key_of(sandbox_pk(id), kSandboxSort));
    std::map<std::string, Sandbox> known;
    for (const auto& item : batch_get(keys)) {
        Sandbox s = sandbox_from_item(item);
        known.emplace(s.sandbox_id, std::move(s));
    }
    for (const auto& [id, p] : listed) {
        const auto k = known.find(id);
        const std::int64_t extra = repeats.count(id) ? repeats[id] : 0;
        if (k == known.end()) {
            Sandbox s;
            s.sandbox_id = id;
            s.name = p->name;
            s.external_id = p->external_id;
            s.sfdc_account_id = p->sfdc_account_id;
            s.status = SandboxStatus::available;
            s.created_at = now;
            s.updated_at = now;
            Item item = sandbox_item(s, options_.lab_duration_hours);
            item["last_synced"] = N(now);
            if (pass) item["sync_pass"] = N(*pass);
            // Inserted by this sync: its first write at this time, not touched since.
            const auto own = [&](const Item* found) {
                return found && n_or(*found, "created_at") == now && n_or(*found, "updated_at") == now &&
                       s_or(*found, "status") == "available";
            };
            const auto carried =
                intend_event(id, now, std::nullopt, SandboxStatus::available, "sync", "listed by provider");
            json request = {{"Item", item}, {"ConditionExpression", "attribute_not_exists(PK)"}};
            carry(request, carried);
            if (conditional("PutItem", request, own)) {
                ++summary.inserted;
                summary.refreshed += extra;
                record(id, now, std::nullopt, SandboxStatus::available, "sync", "listed by provider", carried,
                       &request["Item"]);
            } else {
                drop_intent(carried);
                ++summary.skipped;  // another writer inserted it a moment ago
                // Still listed in this pass: the pass's end must not take it for unlisted.
                if (pass) stamp_pass(id, *pass, "attribute_exists(PK)");
            }
            continue;
        }
        const Sandbox& s = k->second;
        const bool same =
            s.name == p->name && s.external_id == p->external_id && s.sfdc_account_id == p->sfdc_account_id;
        json values = {{":name", S(p->name)}, {":ext", S(p->external_id)}, {":now", N(now)}};
        std::string set = "SET #n = :name, external_id = :ext, updated_at = :now, last_synced = :now";
        if (pass) {
            set += ", sync_pass = :pass";
            values[":pass"] = N(*pass);
        }
        std::string remove;
        if (p->sfdc_account_id.empty()) {
            remove = " REMOVE sfdc_account_id";
        } else {
            set += ", sfdc_account_id = :sfdc";
            values[":sfdc"] = S(p->sfdc_account_id);
        }
        if (s.status == SandboxStatus::stale) {
            values[":from"] = S("stale");
            values[":to"] = S("available");
            const auto carried = intend_event(id, now, SandboxStatus::stale, SandboxStatus::available, "sync",
                                              "listed by provider again");
            json request = {{"Key", key_of(sandbox_pk(id), kSandboxSort)},
                            {"UpdateExpression", set + ", #s = :to" + remove},
                            {"ConditionExpression", "#s = :from"},
                            {"ExpressionAttributeNames", {{"#s", "status"}, {"#n", "name"}}},
                            {"ExpressionAttributeValues", values},
                            {"ReturnValues", "ALL_NEW"}};
            carry(request, carried);
            DynamoReply reply = write("UpdateItem", request);
            if (reply.ok()) {
                ++summary.revived;
                summary.refreshed += extra;
                record(id, now, SandboxStatus::stale, SandboxStatus::available, "sync",
                       "listed by provider again", carried, &reply.body["Attributes"]);
            } else if (reply.is("ConditionalCheckFailedException")) {
                drop_intent(carried);
                ++summary.skipped;  // another writer moved it a moment ago: listed all the same
                if (pass) stamp_pass(id, *pass, "attribute_exists(PK)");
            } else {
                throw StoreUnavailable("DynamoDB UpdateItem (revive) failed: " + reply.error_type);
            }
        } else if (s.status == SandboxStatus::available) {
            ++summary.refreshed;
            summary.refreshed += extra;
            // Unchanged ones are not written: an upsert costs a write only where something changed,
            // or, in a sync, where the row must carry the pass.
            if (same) {
                if (pass) stamp_pass(id, *pass, "#s = :avail");
                continue;
            }
            values[":avail"] = S("available");
            conditional("UpdateItem", {{"Key", key_of(sandbox_pk(id), kSandboxSort)},
                                       {"UpdateExpression", set + remove},
                                       {"ConditionExpression", "#s = :avail"},
                                       {"ExpressionAttributeNames", {{"#s", "status"}, {"#n", "name"}}},
                                       {"ExpressionAttributeValues", values}});
        } else {
            summary.skipped += 1 + extra;
            if (pass) stamp_pass(id, *pass, "attribute_exists(PK)");
        }
    }
    return summary;
}

void DynamoStore::stamp_pass(const std::string& id, std::int64_t pass, const char* condition) {
    json values = {{":pass", N(pass)}};
    if (std::string_view(condition).find(":avail") != std::string_view::npos)
        values[":avail"] = S("available");
    json request = {{"Key", key_of(sandbox_pk(id), kSandboxSort)},
                    {"UpdateExpression", "SET sync_pass = :pass"},
                    {"ConditionExpression", condition},
                    {"ExpressionAttributeValues", values}};
    if (std::string_view(condition).find("#s") != std::string_view::npos) {
        request["ExpressionAttributeNames"] = {{"#s", "status"}};
    }
    conditional("UpdateItem", request);  // gone or no longer available meanwhile: nothing to stamp
}

bool DynamoStore::mark_stale(const std::string& id, UnixSeconds now, std::int64_t unless_pass) {
    const auto carried = intend_event(id, now, SandboxStatus::available, SandboxStatus::stale, "sync",
                                      "not listed by provider");
    // The index is read eventually consistent: the item itself must still lack the stamp.
    json request = {
        {"Key", key_of(sandbox_pk(id), kSandboxSort)},
        {"UpdateExpression", "SET #s = :stale, updated_at = :now"},
        {"ConditionExpression", "#s = :avail AND (attribute_not_exists(sync_pass) OR sync_pass <> :pass)"},
        {"ExpressionAttributeNames", {{"#s", "status"}}},
        {"ExpressionAttributeValues",
         {{":stale", S("stale")}, {":avail", S("available")}, {":now", N(now)}, {":pass", N(unless_pass)}}},
        {"ReturnValues", "ALL_NEW"}};
    carry(request, carried);
    DynamoReply reply = write("UpdateItem", request);
    if (reply.ok()) {
        record(id, now, SandboxStatus::available, SandboxStatus::stale, "sync", "not listed by provider",
               carried, &reply.body["Attributes"]);
        return true;
    }
    if (reply.is("ConditionalCheckFailedException")) {
        drop_intent(carried);
        return false;
    }
    throw StoreUnavailable("DynamoDB UpdateItem (stale) failed: " + reply.error_type);
}

UpsertSummary DynamoStore::sync_part(std::span<const ProviderSandbox> part, std::int64_t pass,
                                     UnixSeconds now) {
    if (part.empty()) return {};
    const UpsertSummary summary = upsert(part, now, pass);
    pool_changes_.after_upsert(summary);
    return summary;
}

std::int64_t DynamoStore::finish_sync(std::int64_t pass, UnixSeconds now) {
    // The available items the pass did not stamp, a page at a time (the filter runs at the
    // table, so only those come back); then each marked, if still available.
    json request = {{"TableName", options_.table},
                    {"IndexName", options_.status_index},
                    {"KeyConditionExpression", "#s = :s"},
                    {"FilterExpression", "attribute_not_exists(sync_pass) OR sync_pass <> :pass"},
                    {"ProjectionExpression", "sandbox_id"},
                    {"ExpressionAttributeNames", {{"#s", "status"}}},
                    {"ExpressionAttributeValues", {{":s", S("available")}, {":pass", N(pass)}}}};
    std::vector<std::string> unlisted;
    for (;;) {
        json answer = client_.must("Query", request);
        for (const auto& item : answer["Items"]) {
            std::string id = s_or(item, "sandbox_id");
            if (!id.empty()) unlisted.push_back(std::move(id));
        }
        if (!answer.contains("LastEvaluatedKey")) break;
        request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
    }
    std::int64_t marked = 0;
    for (const auto& id : unlisted) marked += mark_stale(id, now, pass) ? 1 : 0;
    return marked;
}

// The stamps stay behind: the next pass overwrites them and no one else reads them.
void DynamoStore::abandon_sync(std::int64_t) {}

UpsertSummary DynamoStore::upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                                     UnixSeconds now) {
    if (sandboxes.empty()) return {};
    const UpsertSummary summary = upsert(sandboxes, now);
    pool_changes_.after_upsert(summary);
    return summary;
}

ListPage DynamoStore::list(const ListQuery& query) {
    constexpr int kMaxLimit = 1000;
    const int limit = std::clamp(query.limit, 1, kMaxLimit);
    // The table has no index in id order: the statuses asked are read from the status index
    // and ordered here (an admin listing; the pool's size bounds it).
    std::vector<Sandbox> rows;
    for (const SandboxStatus status : kAllStatuses) {
        if (query.status ? status != *query.status : status == SandboxStatus::deleted) continue;
        for (const auto& item : by_status(status)) {
            Sandbox s = sandbox_from_item(item);
            if (s.sandbox_id > query.after_sandbox_id) rows.push_back(std::move(s));
        }
    }
    return first_page_by_id(std::move(rows), limit);
}

void DynamoStore::ping() {
    // A read of the schema item: answers only when the table exists and the credentials work.
    if (!get_item("BROKER#SCHEMA", "VERSION", false)) {
        throw StoreUnavailable("DynamoDB table " + options_.table +
                               " has no broker schema item: run migrate");
    }
}

std::vector<SandboxEvent> DynamoStore::history(const std::string& sandbox_id) {
    if (!is_valid_utf8(sandbox_id) || sandbox_id.empty()) return {};
    std::vector<SandboxEvent> events;
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(history_pk(sandbox_id))}}},
                                       {"ConsistentRead", true}})) {
        events.push_back(event_from_item(item));
    }
    return events;
}

std::int64_t DynamoStore::prune_history(UnixSeconds before) {
    // History items are spread over one partition per sandbox: finding the old ones takes a
    // scan of the table (keys and `at` only), which the stale job does once per interval.
    json request = {{"TableName", options_.table},
                    {"FilterExpression", "begins_with(PK, :h) AND #at < :before"},
                    {"ProjectionExpression", "PK, SK"},
                    {"ExpressionAttributeNames", {{"#at", "at"}}},
                    {"ExpressionAttributeValues", {{":h", S("HIST#")}, {":before", N(before)}}}};
    std::int64_t pruned = 0;
    for (;;) {
        json answer = client_.must("Scan", request);
        for (const auto& item : answer["Items"]) {
            client_.must("DeleteItem", {{"TableName", options_.table},
                                        {"Key", key_of(s_or(item, "PK"), s_or(item, "SK"))}});
            ++pruned;
        }
        if (!answer.contains("LastEvaluatedKey")) break;
        request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
    }
    return pruned;
}

}  // namespace broker
