// The DynamoDB store's outbox. The emulator has no transactions, so events take two steps,
// each a single-item write that cannot be lost once it returned:
//   - a transition's event is written as a pending item (OUTBOX#PENDING / P#<micros>#<id>)
//     by record(), right after the change and its history; pool.low / pool.recovered go
//     into a list on the pool-state item in the same conditional UpdateItem as the state;
//   - a relay, run by whoever reads, one at a time under a lease item (OUTBOX#RELAY /
//     STATE, which keeps the last sequence number), writes each pending event as a
//     sequenced item (OUTBOX#EVENTS / EV#<seq>) and only then removes the pending one. A
//     relay that dies between the two leaves the pending item for the next; the next
//     recognises an event it already wrote by its token, so it is not written twice.
// Sequence n is written only after n-1 exists, so a reader resuming after k never skips one.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"

namespace broker {

using ddb::DynamoReply;
using ddb::Item;
using ddb::key_of;
using ddb::N;
using ddb::n_or;
using ddb::padded;
using ddb::S;
using ddb::s_or;
using nlohmann::json;

namespace {

constexpr std::string_view kPendingPk = "OUTBOX#PENDING";
constexpr std::string_view kEventsPk = "OUTBOX#EVENTS";
constexpr std::string_view kRelayPk = "OUTBOX#RELAY";
constexpr std::string_view kPoolPk = "OUTBOX#POOL";
constexpr std::string_view kStateSort = "STATE";
// A relay that stopped answering is taken over after this (wall clock: it only orders relays).
constexpr std::int64_t kRelayLeaseSec = 30;
constexpr std::size_t kRelayBatch = 500;

std::int64_t wall_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Increasing within the process, so its pending events sort in the order written.
std::int64_t next_pending_key() {
    static std::atomic<std::int64_t> last{0};
    std::int64_t prev = last.load();
    std::int64_t next = 0;
    do {
        next = std::max(prev + 1, wall_micros());
    } while (!last.compare_exchange_weak(prev, next));
    return next;
}

std::string new_token() {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return std::to_string(random()) + std::to_string(wall_micros());
}

Item event_entry(std::string_view type, UnixSeconds at, const std::string& sandbox_id,
                 const std::string& track, const std::string& data) {
    return {{"tok", S(new_token())},       {"type", S(type)},   {"at", N(at)},
            {"sandbox_id", S(sandbox_id)}, {"track", S(track)}, {"data", S(data)}};
}

OutboxEvent event_of(const Item& item) {
    OutboxEvent e;
    e.id = n_or(item, "seq");
    e.type = s_or(item, "type");
    e.at = n_or(item, "at");
    e.sandbox_id = s_or(item, "sandbox_id");
    e.track = s_or(item, "track");
    e.payload = event_payload(e.id, e.type, e.at, s_or(item, "data"));
    return e;
}

}  // namespace

void DynamoStore::write_transition_event(const std::string& sandbox_id, UnixSeconds at,
                                         std::optional<SandboxStatus> from, std::optional<SandboxStatus> to,
                                         const std::string& actor, const std::string& reason) {
    if (!events_enabled()) return;
    const auto type = transition_event_type(from, to, actor);
    if (!type) return;
    // The item as the change left it (read at once, strongly consistent).
    const auto row = get(sandbox_id);
    if (!row) return;
    write_pending_event(*type, at, sandbox_id, row->track_name,
                        transition_event_data(*row, from, actor, reason));
}

void DynamoStore::write_pending_event(std::string_view type, UnixSeconds at, const std::string& sandbox_id,
                                      const std::string& track, const std::string& data) {
    Item item = event_entry(type, at, sandbox_id, track, data);
    const Item key = key_of(kPendingPk, "P#" + padded(next_pending_key()) + "#" + s_or(item, "tok"));
    item["PK"] = key["PK"];
    item["SK"] = key["SK"];
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", item}});
    event_written(type);
}

std::int64_t DynamoStore::put_sequenced(std::int64_t seq, const Item& entry) {
    const std::string token = s_or(entry, "tok");
    for (;;) {
        ++seq;
        Item item = key_of(kEventsPk, "EV#" + padded(seq));
        item["seq"] = N(seq);
        for (const char* name : {"tok", "type", "at", "sandbox_id", "track", "data"})
            item[name] = entry[name];
        DynamoReply reply = client_.call("PutItem", {{"TableName", options_.table},
                                                     {"Item", item},
                                                     {"ConditionExpression", "attribute_not_exists(PK)"}});
        if (reply.ok()) return seq;
        if (!reply.is("ConditionalCheckFailedException")) {
            throw StoreUnavailable("DynamoDB outbox relay failed: " + reply.error_type + " " + reply.message);
        }
        // Written before by a relay that died before removing its pending item: this event.
        const auto there = get_item(std::string(kEventsPk), "EV#" + padded(seq));
        if (there && s_or(*there, "tok") == token) return seq;
    }
}

void DynamoStore::save_relay_seq(std::int64_t seq) {
    client_.must("UpdateItem", {{"TableName", options_.table},
                                {"Key", key_of(kRelayPk, kStateSort)},
                                {"UpdateExpression", "SET last_seq = :s"},
                                // Only forward: the numbers up to `seq` exist, whoever holds the lease now.
                                {"ConditionExpression", "last_seq < :s"},
                                {"ExpressionAttributeValues", {{":s", N(seq)}}}});
}

void DynamoStore::relay_events() {
    const std::int64_t now = wall_micros() / 1'000'000;
    // One holder name per relay run: two threads of this process never relay at once either.
    static std::atomic<std::uint64_t> runs{0};
    const std::string me = relay_id_ + "#" + std::to_string(++runs);
    DynamoReply lease = client_.call(
        "UpdateItem",
        {{"TableName", options_.table},
         {"Key", key_of(kRelayPk, kStateSort)},
         {"UpdateExpression",
          "SET holder = :me, lease_until = :until, last_seq = if_not_exists(last_seq, :zero)"},
         {"ConditionExpression", "attribute_not_exists(holder) OR lease_until < :now"},
         {"ExpressionAttributeValues",
          {{":me", S(me)}, {":until", N(now + kRelayLeaseSec)}, {":now", N(now)}, {":zero", N(0)}}},
         {"ReturnValues", "ALL_NEW"}});
    if (lease.is("ConditionalCheckFailedException")) return;  // another relay is at work: it moves them
    if (!lease.ok()) throw StoreUnavailable("DynamoDB outbox relay lease failed: " + lease.error_type);
    std::int64_t seq = n_or(lease.body["Attributes"], "last_seq");
    const auto release = [&] {
        client_.call("UpdateItem", {{"TableName", options_.table},
                                    {"Key", key_of(kRelayPk, kStateSort)},
                                    {"UpdateExpression", "REMOVE holder, lease_until"},
                                    {"ConditionExpression", "holder = :me"},
                                    {"ExpressionAttributeValues", {{":me", S(me)}}}});
    };
    try {
        // Pool alerts, carried by the state item they changed with.
        if (auto pool = get_item(std::string(kPoolPk), std::string(kStateSort));
            pool && pool->contains("outbox") && !(*pool)["outbox"]["L"].empty()) {
            const json entries = (*pool)["outbox"]["L"];
            for (const auto& entry : entries) seq = put_sequenced(seq, entry["M"]);
            // Highest index first: the same list either way, whether the indexes name the
            // positions before the update (DynamoDB) or after each removal (some emulators).
            std::string remove;
            for (std::size_t i = entries.size(); i-- > 0;)
                remove += (remove.empty() ? "REMOVE outbox[" : ", outbox[") + std::to_string(i) + "]";
            // Appends go to the end, and only the relay removes: the first ones are these.
            client_.must("UpdateItem", {{"TableName", options_.table},
                                        {"Key", key_of(kPoolPk, kStateSort)},
                                        {"UpdateExpression", remove},
                                        {"ConditionExpression", "outbox[0].tok = :t"},
                                        {"ExpressionAttributeValues", {{":t", entries[0]["M"]["tok"]}}}});
            save_relay_seq(seq);
        }
        const auto pending = query_all({{"KeyConditionExpression", "PK = :pk"},
                                        {"ExpressionAttributeValues", {{":pk", S(kPendingPk)}}},
                                        {"ConsistentRead", true}},
                                       kRelayBatch);
        for (const auto& item : pending) {
            seq = put_sequenced(seq, item);
            client_.must("DeleteItem", {{"TableName", options_.table},
                                        {"Key", key_of(s_or(item, "PK"), s_or(item, "SK"))}});
            save_relay_seq(seq);
        }
    } catch (...) {
        release();
        throw;
    }
    release();
}

std::vector<OutboxEvent> DynamoStore::read_events(std::int64_t after_id, int limit) {
    std::vector<OutboxEvent> out;
    if (limit <= 0) return out;
    relay_events();
    json answer = client_.must("Query", {{"TableName", options_.table},
                                         {"KeyConditionExpression", "PK = :pk AND SK > :after"},
                                         {"ExpressionAttributeValues",
                                          {{":pk", S(kEventsPk)}, {":after", S("EV#" + padded(after_id))}}},
                                         {"ConsistentRead", true},
                                         {"Limit", limit}});
    for (const auto& item : answer["Items"]) out.push_back(event_of(item));
    return out;
}

void DynamoStore::append_event(std::string_view type, std::string_view data_json, UnixSeconds now) {
    if (!events_enabled()) return;
    write_pending_event(type, now, "", "", std::string(data_json));
}

std::int64_t DynamoStore::last_event_id() {
    relay_events();
    const auto state = get_item(std::string(kRelayPk), std::string(kStateSort));
    return state ? n_or(*state, "last_seq") : 0;
}

std::int64_t DynamoStore::prune_events(std::int64_t delivered_up_to, UnixSeconds older_than) {
    const auto items = query_all(
        {{"KeyConditionExpression", "PK = :pk AND SK <= :upto"},
         {"FilterExpression", "#at < :older"},
         {"ExpressionAttributeNames", {{"#at", "at"}}},
         {"ExpressionAttributeValues",
          {{":pk", S(kEventsPk)}, {":upto", S("EV#" + padded(delivered_up_to))}, {":older", N(older_than)}}},
         {"ProjectionExpression", "PK, SK"}});
    for (const auto& item : items) {
        client_.must("DeleteItem",
                     {{"TableName", options_.table}, {"Key", key_of(s_or(item, "PK"), s_or(item, "SK"))}});
    }
    return static_cast<std::int64_t>(items.size());
}

bool DynamoStore::pool_low() {
    const auto state = get_item(std::string(kPoolPk), std::string(kStateSort));
    return state && ddb::get_bool(*state, "low").value_or(false);
}

bool DynamoStore::set_pool_low(bool low, std::string_view data_json, UnixSeconds now) {
    const std::string_view type = low ? kEventPoolLow : kEventPoolRecovered;
    json values = {{":low", ddb::BOOL(low)}, {":now", N(now)}};
    std::string update = "SET #low = :low, changed_at = :now";
    if (events_enabled()) {
        update += ", outbox = list_append(if_not_exists(outbox, :none), :e)";
        values[":none"] = {{"L", json::array()}};
        values[":e"] = {
            {"L", json::array({{{"M", event_entry(type, now, "", "", std::string(data_json))}}})}};
    }
    values[":was"] = ddb::BOOL(!low);
    const std::string condition = low ? "attribute_not_exists(#low) OR #low = :was" : "#low = :was";
    if (!conditional("UpdateItem", {{"Key", key_of(kPoolPk, kStateSort)},
                                    {"UpdateExpression", update},
                                    {"ConditionExpression", condition},
                                    {"ExpressionAttributeNames", {{"#low", "low"}}},
                                    {"ExpressionAttributeValues", values}})) {
        return false;
    }
    if (events_enabled()) event_written(type);
    return true;
}

}  // namespace broker
