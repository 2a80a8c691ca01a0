// The DynamoDB store's outbox. The emulator has no transactions and the table one partition
// key per item, so a change and its event are made atomic by writing the event in the
// change's own conditional write, and everything else is single-item writes ordered so that
// a crash between any two leaves the event to be found, exactly once:
//   1. intent: a pending item (OUTBOX#PENDING / P#<micros>#<token>) naming the sandbox and
//      the event's token, written before the change;
//   2. the change: its conditional UpdateItem (or PutItem) on the sandbox item also appends
//      the event ({tok, type, at, from, actor, reason}) to the item's `outbox` list and fails
//      when the token is fenced (`outbox_fence`, below). The change and its event land
//      together or not at all: a change that does not land takes its intent away again;
//   3. the pending event: the intent is made whole (PutItem on its key, the sandbox's fields
//      as the change left them) unless a relay took it meanwhile.
// A relay, run by whoever reads, one at a time under a lease item (OUTBOX#RELAY / STATE, which
// keeps the last sequence number), goes through the pending items in key order: each whole
// one is written as a sequenced item (OUTBOX#EVENTS / EV#<seq>), then taken off the sandbox
// item it rode on, then removed. An intent still waiting for its change stops the relay there
// (a writer between two steps, normally for milliseconds); once it is older than
// kIntentSettleSec (far beyond any request's lifetime) it is settled from the sandbox item,
// read strongly consistent:
//   - the item carries the token's event: the change landed and its writer died before step
//     3; the event is moved from the item as it is now (its fields then are the ones a later
//     change that carried no event left; type, time, actor, reason and previous status are
//     the event's own);
//   - it does not: the token is fenced (ADD to the item's `outbox_fence` set), so that a late
//     write of the change fails its condition, and the item read again (a change that landed
//     before the fence is moved as above). The fence is taken off kFenceKeepSec later.
// A sandbox item thus has the two broker attributes only while one of its events is between
// change and relay (or for the rare fenced token); the original service's indexes never see
// an outbox item (they carry no `status`, `allocated_to_track` or `idempotency_key`).
// pool.low / pool.recovered go into a list on the pool-state item in the same conditional
// UpdateItem as the state; job events and others with no change to ride on are written whole.
// A relay that dies between writing a sequenced item and removing its pending one leaves the
// pending item for the next, which recognises an event it already wrote by its token. Sequence
// n is written only after n-1 exists, so a reader resuming after k never skips one.
// On the allocation path this costs one write more than an event written after the change
// (the intent) and one read less (the item as the change left it comes with its answer).
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
using ddb::kSandboxSort;
using ddb::N;
using ddb::n_or;
using ddb::padded;
using ddb::S;
using ddb::s_or;
using ddb::sandbox_from_item;
using ddb::sandbox_pk;
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
// The sandbox item's attributes for carried events and fenced tokens.
constexpr const char* kCarriedAttr = "outbox";
constexpr const char* kFenceAttr = "outbox_fence";
// An intent this old whose event was not made whole: its writer stopped (seconds). Far beyond
// an allocation's budget and the client's retries, so its change is no longer on its way.
constexpr std::int64_t kIntentSettleSec = 60;
// How long a fenced token stays on its sandbox item (seconds).
constexpr std::int64_t kFenceKeepSec = 3600;

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

std::int64_t DynamoStore::outbox_now() const {
    return outbox_clock_ ? outbox_clock_() : wall_micros() / 1'000'000;
}

std::optional<DynamoStore::CarriedEvent> DynamoStore::intend_event(
    const std::string& sandbox_id, UnixSeconds at, std::optional<SandboxStatus> from,
    std::optional<SandboxStatus> to, const std::string& actor, const std::string& reason) {
    if (!events_enabled()) return std::nullopt;
    const auto type = transition_event_type(from, to, actor);
    if (!type) return std::nullopt;
    CarriedEvent e{std::string(*type), new_token(), "", at, from, actor, reason};
    e.pending_sk = "P#" + padded(next_pending_key()) + "#" + e.token;
    Item intent = key_of(kPendingPk, e.pending_sk);
    intent["tok"] = S(e.token);
    intent["intent_for"] = S(sandbox_id);
    intent["written"] = N(outbox_now());
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", intent}});
    outbox_step(OutboxStep::intent_written);
    return e;
}

void DynamoStore::carry(json& request, const std::optional<CarriedEvent>& carried) {
    if (!carried) return;
    json entry = {{"tok", S(carried->token)},
                  {"type", S(carried->type)},
                  {"at", N(carried->at)},
                  {"actor", S(carried->actor)},
                  {"reason", S(carried->reason)}};
    if (carried->from) entry["from"] = S(to_string(*carried->from));
    const json list = {{"L", json::array({{{"M", entry}}})}};
    if (request.contains("Item")) {  // a new sandbox item: nothing to fence yet
        request["Item"][std::string(kCarriedAttr)] = list;
        return;
    }
    std::string update = request.at("UpdateExpression").get<std::string>();
    if (update.rfind("SET ", 0) != 0) throw std::logic_error("carried event on an update without SET");
    update.insert(4, "#obx = list_append(if_not_exists(#obx, :obx_none), :obx_e), ");
    request["UpdateExpression"] = update;
    const std::string unfenced = "NOT contains(#obf, :obx_tok)";
    request["ConditionExpression"] =
        request.contains("ConditionExpression")
            ? "(" + request["ConditionExpression"].get<std::string>() + ") AND " + unfenced
            : unfenced;
    request["ExpressionAttributeNames"]["#obx"] = kCarriedAttr;
    request["ExpressionAttributeNames"]["#obf"] = kFenceAttr;
    request["ExpressionAttributeValues"][":obx_none"] = {{"L", json::array()}};
    request["ExpressionAttributeValues"][":obx_e"] = list;
    request["ExpressionAttributeValues"][":obx_tok"] = S(carried->token);
}

void DynamoStore::drop_intent(const std::optional<CarriedEvent>& carried) {
    if (!carried) return;
    // A fenced intent stays: the relay takes the fence off the item later.
    const DynamoReply reply =
        client_.call("DeleteItem", {{"TableName", options_.table},
                                    {"Key", key_of(kPendingPk, carried->pending_sk)},
                                    {"ConditionExpression", "attribute_not_exists(fenced_at)"}});
    if (!reply.ok() && !reply.is("ConditionalCheckFailedException"))
        throw StoreUnavailable("DynamoDB outbox intent removal failed: " + reply.error_type);
}

void DynamoStore::write_pending_event(std::string_view type, UnixSeconds at, const std::string& sandbox_id,
                                      const std::string& track, const std::string& data,
                                      const CarriedEvent* carried) {
    Item item = event_entry(type, at, sandbox_id, track, data);
    if (!carried) {
        const Item key = key_of(kPendingPk, "P#" + padded(next_pending_key()) + "#" + s_or(item, "tok"));
        item["PK"] = key["PK"];
        item["SK"] = key["SK"];
        client_.must("PutItem", {{"TableName", options_.table}, {"Item", item}});
        event_written(type);
        return;
    }
    // The intent made whole, in its place (its order), unless a relay settled it meanwhile.
    const Item key = key_of(kPendingPk, carried->pending_sk);
    item["PK"] = key["PK"];
    item["SK"] = key["SK"];
    item["tok"] = S(carried->token);
    item["carried"] = ddb::BOOL(true);
    const DynamoReply reply = client_.call(
        "PutItem",
        {{"TableName", options_.table}, {"Item", item}, {"ConditionExpression", "attribute_exists(PK)"}});
    if (!reply.ok() && !reply.is("ConditionalCheckFailedException"))
        throw StoreUnavailable("DynamoDB outbox pending write failed: " + reply.error_type);
    event_written(type);
    outbox_step(OutboxStep::pending_written);
}

void DynamoStore::remove_carried(const std::string& sandbox_id, const std::string& token) {
    const Item key = key_of(sandbox_pk(sandbox_id), kSandboxSort);
    const json names = {{"#obx", kCarriedAttr}};
    // Mostly the item carries this one event: the attribute goes in one conditional write.
    DynamoReply reply =
        client_.call("UpdateItem", {{"TableName", options_.table},
                                    {"Key", key},
                                    {"UpdateExpression", "REMOVE #obx"},
                                    {"ConditionExpression", "size(#obx) = :one AND #obx[0].tok = :t"},
                                    {"ExpressionAttributeNames", names},
                                    {"ExpressionAttributeValues", {{":one", N(1)}, {":t", S(token)}}}});
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (reply.ok()) return;
        if (!reply.is("ConditionalCheckFailedException"))
            throw StoreUnavailable("DynamoDB outbox carried-event removal failed: " + reply.error_type);
        // Others ride along (or it is gone): its place read, removed there if still its own.
        const auto item = get_item(sandbox_pk(sandbox_id), std::string(kSandboxSort));
        if (!item || !item->contains(kCarriedAttr)) return;
        const json& list = (*item)[std::string(kCarriedAttr)]["L"];
        std::size_t at = 0;
        while (at < list.size() && s_or(list[at]["M"], "tok") != token) ++at;
        if (at == list.size()) return;
        const std::string path = list.size() == 1 ? "#obx" : "#obx[" + std::to_string(at) + "]";
        const std::string size_check = list.size() == 1 ? "size(#obx) = :one AND " : "";
        reply = client_.call(
            "UpdateItem",
            {{"TableName", options_.table},
             {"Key", key},
             {"UpdateExpression", "REMOVE " + path},
             {"ConditionExpression", size_check + "#obx[" + std::to_string(at) + "].tok = :t"},
             {"ExpressionAttributeNames", names},
             {"ExpressionAttributeValues",
              list.size() == 1 ? json{{":one", N(1)}, {":t", S(token)}} : json{{":t", S(token)}}}});
    }
    throw StoreUnavailable("DynamoDB outbox: the carried event's sandbox kept changing");
}

bool DynamoStore::settle_intent(const Item& intent, std::int64_t& seq) {
    const std::int64_t now = outbox_now();
    const std::string id = s_or(intent, "intent_for");
    const std::string token = s_or(intent, "tok");
    const Item intent_key = key_of(s_or(intent, "PK"), s_or(intent, "SK"));
    const Item item_key = key_of(sandbox_pk(id), kSandboxSort);
    const json fence_set = {{"SS", json::array({token})}};
    const auto unfence = [&] {
        const DynamoReply reply =
            client_.call("UpdateItem", {{"TableName", options_.table},
                                        {"Key", item_key},
                                        {"UpdateExpression", "DELETE #obf :f"},
                                        {"ConditionExpression", "attribute_exists(PK)"},
                                        {"ExpressionAttributeNames", {{"#obf", kFenceAttr}}},
                                        {"ExpressionAttributeValues", {{":f", fence_set}}}});
        if (!reply.ok() && !reply.is("ConditionalCheckFailedException"))
            throw StoreUnavailable("DynamoDB outbox unfence failed: " + reply.error_type);
    };
    const auto drop = [&] {
        client_.must("DeleteItem", {{"TableName", options_.table}, {"Key", intent_key}});
    };
    if (intent.contains("fenced_at")) {
        if (now >= n_or(intent, "fenced_at") + kFenceKeepSec) {
            unfence();
            drop();
        }
        return true;
    }
    if (now < n_or(intent, "written") + kIntentSettleSec) return false;  // its change may be on its way

    const auto carried_entry = [&](const std::optional<Item>& item) -> std::optional<Item> {
        if (!item || !item->contains(kCarriedAttr)) return std::nullopt;
        for (const auto& e : (*item)[std::string(kCarriedAttr)]["L"])
            if (s_or(e["M"], "tok") == token) return e["M"];
        return std::nullopt;
    };
    auto item = get_item(sandbox_pk(id), std::string(kSandboxSort));
    auto entry = carried_entry(item);
    bool fenced = false;
    if (!entry && item) {
        const DynamoReply reply =
            client_.call("UpdateItem", {{"TableName", options_.table},
                                        {"Key", item_key},
                                        {"UpdateExpression", "ADD #obf :f"},
                                        {"ConditionExpression", "attribute_exists(PK)"},
                                        {"ExpressionAttributeNames", {{"#obf", kFenceAttr}}},
                                        {"ExpressionAttributeValues", {{":f", fence_set}}}});
        if (!reply.ok() && !reply.is("ConditionalCheckFailedException"))
            throw StoreUnavailable("DynamoDB outbox fence failed: " + reply.error_type);
        fenced = reply.ok();
        // Landed before the fence, or not at all: from here on it cannot.
        item = get_item(sandbox_pk(id), std::string(kSandboxSort));
        entry = carried_entry(item);
    }
    if (!entry) {
        if (fenced) {
            // Only the intent as read: one renamed to another candidate meanwhile is looked at
            // again by the next run.
            const DynamoReply marked = client_.call(
                "UpdateItem",
                {{"TableName", options_.table},
                 {"Key", intent_key},
                 {"UpdateExpression", "SET fenced_at = :now"},
                 {"ConditionExpression", "intent_for = :id AND tok = :t"},
                 {"ExpressionAttributeValues", {{":now", N(now)}, {":id", S(id)}, {":t", S(token)}}}});
            if (!marked.ok() && !marked.is("ConditionalCheckFailedException"))
                throw StoreUnavailable("DynamoDB outbox fence mark failed: " + marked.error_type);
        } else {
            drop();  // a new sandbox never inserted (or removed since): nothing to fence
        }
        return true;
    }
    // The change landed and its writer stopped before making the event whole.
    const auto from_text = ddb::get_s(*entry, "from");
    std::optional<SandboxStatus> from = from_text ? parse_status(*from_text) : std::nullopt;
    if (!from_text && s_or(*entry, "type") == kEventDeleted) {
        // A deletion's status before is the one its sandbox's history shows last.
        for (const auto& h : history(id))
            if (h.to && *h.to != SandboxStatus::deleted) from = h.to;
    }
    const Sandbox row = sandbox_from_item(*item);
    Item whole = event_entry(s_or(*entry, "type"), n_or(*entry, "at"), id, row.track_name,
                             transition_event_data(row, from, s_or(*entry, "actor"), s_or(*entry, "reason")));
    whole["tok"] = S(token);
    seq = put_sequenced(seq, whole);
    remove_carried(id, token);
    if (fenced) unfence();
    drop();
    save_relay_seq(seq);
    return true;
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
            // An intent whose change may still land: it and every later event wait (the
            // order of the pending items is the order of the sequence numbers, which makes a
            // sequenced item a relay wrote before it died recognisable by its place).
            if (item.contains("intent_for")) {
                if (!settle_intent(item, seq)) break;
                continue;
            }
            seq = put_sequenced(seq, item);
            if (ddb::get_bool(item, "carried").value_or(false))
                remove_carried(s_or(item, "sandbox_id"), s_or(item, "tok"));
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
