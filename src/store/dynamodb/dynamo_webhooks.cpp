// The DynamoDB store's webhook subscriptions and deliveries (store/webhook_store.hpp). The
// emulator has no transactions, so every change is a conditional single-item write, ordered
// so that a worker that dies between two of them leaves work that is repeated, never lost:
//   WEBHOOKS / SUB#<id>              a subscription, with its cursor in the outbox
//   WEBHOOK#<id> / D#<n>             one delivery (n zero-padded, from the counter below)
//   WEBHOOK#<id> / E#<event id>      which delivery the subscription's event became
//   BROKER#COUNTER / WEBHOOK_DELIVERY  the delivery id counter
// Enqueueing takes, per event, a delivery id and writes E# only where none exists (the
// first writer's id wins), then D# only where none exists, and moves the cursor last, on the
// condition that it still holds the value read: a worker that repeats the enqueue after a
// crash, or races another, finds the deliveries already there and writes none twice.
// No item carries `status`, `allocated_to_track` or `idempotency_key` (the table's index keys).
#include <algorithm>
#include <map>

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

constexpr std::string_view kSubscriptionsPk = "WEBHOOKS";
constexpr std::string_view kSubscriptionPrefix = "SUB#";
constexpr std::string_view kDeliveriesPrefix = "WEBHOOK#";
constexpr std::string_view kPending = "pending";

std::string subscription_sk(std::string_view id) {
    return std::string(kSubscriptionPrefix) + std::string(id);
}
std::string deliveries_pk(std::string_view subscription_id) {
    return std::string(kDeliveriesPrefix) + std::string(subscription_id);
}
std::string delivery_sk(std::int64_t id) {
    return "D#" + padded(id);
}
std::string event_marker_sk(std::int64_t event_id) {
    return "E#" + padded(event_id);
}

std::optional<std::int64_t> optional_n(const Item& item, const char* name) {
    return ddb::get_n(item, name);
}

// Names every attribute an expression mentions (several are DynamoDB reserved words).
json names(std::initializer_list<const char*> attributes) {
    json out = json::object();
    for (const char* a : attributes) out[std::string("#") + a] = a;
    return out;
}

WebhookSubscription subscription_of(const Item& item) {
    WebhookSubscription s;
    s.id = s_or(item, "webhook_id");
    s.url = s_or(item, "url");
    s.event_types = split_event_types(s_or(item, "event_types"));
    s.description = s_or(item, "description");
    s.secret = s_or(item, "secret");
    s.enabled = ddb::get_bool(item, "enabled").value_or(true);
    s.disabled_reason = s_or(item, "disabled_reason");
    s.created_at = n_or(item, "created_at");
    s.disabled_at = optional_n(item, "disabled_at");
    s.cursor = n_or(item, "event_cursor");
    s.failing_since = optional_n(item, "failing_since");
    s.consecutive_failed = n_or(item, "consecutive_failed");
    return s;
}

Item subscription_item(const WebhookSubscription& s) {
    Item item = key_of(kSubscriptionsPk, subscription_sk(s.id));
    item["webhook_id"] = S(s.id);
    item["url"] = S(s.url);
    item["event_types"] = S(join_event_types(s.event_types));
    item["description"] = S(s.description);
    item["secret"] = S(s.secret);
    item["enabled"] = ddb::BOOL(s.enabled);
    item["disabled_reason"] = S(s.disabled_reason);
    item["created_at"] = N(s.created_at);
    if (s.disabled_at) item["disabled_at"] = N(*s.disabled_at);
    item["event_cursor"] = N(s.cursor);
    if (s.failing_since) item["failing_since"] = N(*s.failing_since);
    item["consecutive_failed"] = N(s.consecutive_failed);
    return item;
}

WebhookDelivery delivery_of(const Item& item) {
    WebhookDelivery d;
    d.id = n_or(item, "delivery_id");
    d.subscription_id = s_or(item, "subscription_id");
    d.event_id = n_or(item, "event_id");
    d.event_type = s_or(item, "event_type");
    d.sandbox_id = s_or(item, "sandbox_id");
    d.payload = s_or(item, "payload");
    d.status = delivery_status_from(s_or(item, "delivery_status")).value_or(DeliveryStatus::pending);
    d.attempts = n_or(item, "attempts");
    d.created_at = n_or(item, "created_at");
    d.next_attempt_at = n_or(item, "next_attempt_at");
    d.last_attempt_at = optional_n(item, "last_attempt_at");
    if (auto status = optional_n(item, "last_http_status")) d.last_http_status = static_cast<int>(*status);
    d.last_error = s_or(item, "last_error");
    d.last_latency_ms = optional_n(item, "last_latency_ms");
    return d;
}

}  // namespace

std::vector<Item> DynamoStore::webhook_deliveries(const std::string& subscription_id, bool pending_only) {
    json request = {
        {"KeyConditionExpression", "PK = :pk AND begins_with(SK, :d)"},
        {"ExpressionAttributeValues", {{":pk", S(deliveries_pk(subscription_id))}, {":d", S("D#")}}},
        {"ConsistentRead", true}};
    if (pending_only) {
        request["FilterExpression"] = "#delivery_status = :pending";
        request["ExpressionAttributeNames"] = names({"delivery_status"});
        request["ExpressionAttributeValues"][":pending"] = S(kPending);
    }
    return query_all(std::move(request));
}

void DynamoStore::create_webhook(const WebhookSubscription& subscription) {
    if (!conditional("PutItem", {{"Item", subscription_item(subscription)},
                                 {"ConditionExpression", "attribute_not_exists(PK)"}})) {
        throw StoreUnavailable("DynamoDB webhook subscription " + subscription.id + " exists already");
    }
}

std::vector<WebhookSubscription> DynamoStore::list_webhooks() {
    std::vector<WebhookSubscription> out;
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(kSubscriptionsPk)}}},
                                       {"ConsistentRead", true}}))
        out.push_back(subscription_of(item));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
    });
    return out;
}

std::optional<WebhookSubscription> DynamoStore::get_webhook(const std::string& id) {
    if (!is_valid_utf8(id) || id.empty()) return std::nullopt;
    const auto item = get_item(std::string(kSubscriptionsPk), subscription_sk(id));
    if (!item) return std::nullopt;
    return subscription_of(*item);
}

bool DynamoStore::delete_webhook(const std::string& id) {
    if (!is_valid_utf8(id) || id.empty()) return false;
    const bool gone = conditional("DeleteItem",
                                  {{"Key", key_of(kSubscriptionsPk, subscription_sk(id))},
                                   {"ConditionExpression", "attribute_exists(PK)"}},
                                  [](const Item* item) { return item == nullptr; });
    if (!gone) return false;
    // Its deliveries and markers; a crash here leaves items no subscription reads, which the
    // next delete of the same id (or nothing) removes.
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(deliveries_pk(id))}}},
                                       {"ProjectionExpression", "PK, SK"}})) {
        client_.must("DeleteItem",
                     {{"TableName", options_.table}, {"Key", key_of(s_or(item, "PK"), s_or(item, "SK"))}});
    }
    return true;
}

bool DynamoStore::disable_webhook(const std::string& id, const std::string& reason, UnixSeconds now) {
    if (!is_valid_utf8(id) || id.empty()) return false;
    DynamoReply reply = write(
        "UpdateItem",
        {{"Key", key_of(kSubscriptionsPk, subscription_sk(id))},
         {"UpdateExpression", "SET #enabled = :no, disabled_reason = :why, disabled_at = :now"},
         {"ConditionExpression", "attribute_exists(PK) AND #enabled = :yes"},
         {"ExpressionAttributeNames", names({"enabled"})},
         {"ExpressionAttributeValues",
          {{":no", ddb::BOOL(false)}, {":yes", ddb::BOOL(true)}, {":why", S(reason)}, {":now", N(now)}}},
         {"ReturnValues", "ALL_NEW"}},
        [&](const Item* item) {
            return item && !ddb::get_bool(*item, "enabled").value_or(true) &&
                   n_or(*item, "disabled_at", -1) == now && s_or(*item, "disabled_reason") == reason;
        });
    if (reply.is("ConditionalCheckFailedException")) return false;
    if (!reply.ok())
        throw StoreUnavailable("DynamoDB UpdateItem failed: " + reply.error_type + " " + reply.message);
    // The announcement, written the way every other event of this store is.
    if (events_enabled())
        write_pending_event(kEventWebhookDisabled, now, "", "",
                            webhook_disabled_data(subscription_of(reply.body["Attributes"]), reason));
    return true;
}

bool DynamoStore::enable_webhook(const std::string& id) {
    if (!is_valid_utf8(id) || id.empty()) return false;
    return conditional(
        "UpdateItem",
        {{"Key", key_of(kSubscriptionsPk, subscription_sk(id))},
         {"UpdateExpression",
          "SET #enabled = :yes, disabled_reason = :empty, consecutive_failed = :zero REMOVE disabled_at, "
          "failing_since"},
         {"ConditionExpression", "attribute_exists(PK)"},
         {"ExpressionAttributeNames", names({"enabled"})},
         {"ExpressionAttributeValues", {{":yes", ddb::BOOL(true)}, {":empty", S("")}, {":zero", N(0)}}}},
        [](const Item* item) { return item && ddb::get_bool(*item, "enabled").value_or(false); });
}

bool DynamoStore::enqueue_deliveries(const std::string& subscription_id, std::int64_t from_cursor,
                                     std::int64_t to_cursor, std::span<const OutboxEvent> events,
                                     UnixSeconds now) {
    const auto subscription = get_webhook(subscription_id);
    if (!subscription || subscription->cursor != from_cursor) return false;
    const std::string pk = deliveries_pk(subscription_id);
    for (const auto& e : events) {
        // 1. The delivery's id: this event's marker if a worker wrote one, else a new one.
        const json counter =
            client_.must("UpdateItem", {{"TableName", options_.table},
                                        {"Key", key_of("BROKER#COUNTER", "WEBHOOK_DELIVERY")},
                                        {"UpdateExpression", "ADD next_id :one"},
                                        {"ExpressionAttributeValues", {{":one", N(1)}}},
                                        {"ReturnValues", "UPDATED_NEW"}});
        std::int64_t id = n_or(counter["Attributes"], "next_id");
        Item marker = key_of(pk, event_marker_sk(e.id));
        marker["delivery_id"] = N(id);
        if (!conditional("PutItem", {{"Item", marker}, {"ConditionExpression", "attribute_not_exists(PK)"}},
                         [id](const Item* item) { return item && n_or(*item, "delivery_id") == id; })) {
            const auto there = get_item(pk, event_marker_sk(e.id));
            if (!there) throw StoreUnavailable("DynamoDB webhook delivery marker vanished");
            id = n_or(*there, "delivery_id");
        }
        // 2. The delivery, unless it is there already (written before a crash, or by a racer).
        Item d = key_of(pk, delivery_sk(id));
        d["delivery_id"] = N(id);
        d["subscription_id"] = S(subscription_id);
        d["event_id"] = N(e.id);
        d["event_type"] = S(e.type);
        d["sandbox_id"] = S(e.sandbox_id);
        d["payload"] = S(e.payload);
        d["delivery_status"] = S(kPending);
        d["attempts"] = N(0);
        d["created_at"] = N(now);
        d["next_attempt_at"] = N(now);
        d["last_error"] = S("");
        d["claim_owner"] = S("");
        d["claim_until"] = N(0);
        conditional("PutItem", {{"Item", d}, {"ConditionExpression", "attribute_not_exists(PK)"}});
    }
    // 3. The cursor, last, from the value read.
    return conditional(
        "UpdateItem",
        {{"Key", key_of(kSubscriptionsPk, subscription_sk(subscription_id))},
         {"UpdateExpression", "SET event_cursor = :to"},
         {"ConditionExpression", "event_cursor = :from"},
         {"ExpressionAttributeValues", {{":to", N(to_cursor)}, {":from", N(from_cursor)}}}},
        [to_cursor](const Item* item) { return item && n_or(*item, "event_cursor") == to_cursor; });
}

std::vector<WebhookDelivery> DynamoStore::claim_deliveries(const DeliveryClaim& claim) {
    std::vector<WebhookDelivery> out;
    if (!is_valid_utf8(claim.subscription_id) || claim.subscription_id.empty() || claim.limit <= 0)
        return out;
    const auto pending = webhook_deliveries(claim.subscription_id, true);  // in id order
    std::map<std::string, std::int64_t> first_of_sandbox;
    for (const auto& item : pending) {
        const std::string sandbox = s_or(item, "sandbox_id");
        if (!sandbox.empty()) first_of_sandbox.try_emplace(sandbox, n_or(item, "delivery_id"));
    }
    for (const auto& item : pending) {
        if (static_cast<int>(out.size()) >= claim.limit) break;
        const std::int64_t id = n_or(item, "delivery_id");
        const std::string sandbox = s_or(item, "sandbox_id");
        if (!sandbox.empty() && first_of_sandbox[sandbox] != id) continue;  // the one before goes first
        if (n_or(item, "next_attempt_at") > claim.now || n_or(item, "claim_until") > claim.now) continue;
        // Taken only when no other claim holds it now (another claimer's write fails this).
        DynamoReply reply =
            write("UpdateItem",
                  {{"Key", key_of(s_or(item, "PK"), s_or(item, "SK"))},
                   {"UpdateExpression", "SET claim_owner = :me, claim_until = :until"},
                   {"ConditionExpression", "#delivery_status = :pending AND claim_until <= :now"},
                   {"ExpressionAttributeNames", names({"delivery_status"})},
                   {"ExpressionAttributeValues",
                    {{":me", S(claim.worker_id)},
                     {":until", N(claim.claim_until)},
                     {":now", N(claim.now)},
                     {":pending", S(kPending)}}},
                   {"ReturnValues", "ALL_NEW"}},
                  [&](const Item* there) {
                      return there && s_or(*there, "claim_owner") == claim.worker_id &&
                             n_or(*there, "claim_until") == claim.claim_until;
                  });
        if (reply.is("ConditionalCheckFailedException")) continue;
        if (!reply.ok())
            throw StoreUnavailable("DynamoDB UpdateItem failed: " + reply.error_type + " " + reply.message);
        out.push_back(delivery_of(reply.body["Attributes"]));
    }
    return out;
}

bool DynamoStore::record_attempt(const DeliveryAttempt& a) {
    if (!is_valid_utf8(a.subscription_id) || a.subscription_id.empty()) return false;
    json values = {{":me", S(a.worker_id)},
                   {":pending", S(kPending)},
                   {":outcome", S(to_string(a.outcome))},
                   {":next", N(a.next_attempt_at)},
                   {":now", N(a.now)},
                   {":error", S(a.error)},
                   {":latency", N(a.latency_ms)},
                   {":one", N(1)},
                   {":none", S("")},
                   {":zero", N(0)}};
    std::string update =
        "SET #delivery_status = :outcome, next_attempt_at = :next, last_attempt_at = :now, last_error = "
        ":error, "
        "last_latency_ms = :latency, claim_owner = :none, claim_until = :zero ADD attempts :one";
    if (a.http_status) {
        update.insert(update.find(" ADD"), ", last_http_status = :http");
        values[":http"] = N(*a.http_status);
    } else {
        update += " REMOVE last_http_status";
    }
    const bool recorded = conditional(
        "UpdateItem", {{"Key", key_of(deliveries_pk(a.subscription_id), delivery_sk(a.delivery_id))},
                       {"UpdateExpression", update},
                       {"ConditionExpression",
                        "attribute_exists(PK) AND claim_owner = :me AND #delivery_status = :pending"},
                       {"ExpressionAttributeNames", names({"delivery_status"})},
                       {"ExpressionAttributeValues", values}});
    if (!recorded) return false;
    // The subscription's failure record: a second write (a crash before it loses one step of
    // the record, which only delays a disable).
    json sub_values = {{":now", N(a.now)}};
    std::string sub_update;
    if (a.outcome == DeliveryStatus::delivered) {
        sub_update = "SET consecutive_failed = :zero REMOVE failing_since";
        sub_values = {{":zero", N(0)}};
    } else if (a.outcome == DeliveryStatus::failed) {
        sub_update = "SET failing_since = if_not_exists(failing_since, :now) ADD consecutive_failed :one";
        sub_values[":one"] = N(1);
    } else {
        sub_update = "SET failing_since = if_not_exists(failing_since, :now)";
    }
    conditional("UpdateItem", {{"Key", key_of(kSubscriptionsPk, subscription_sk(a.subscription_id))},
                               {"UpdateExpression", sub_update},
                               {"ConditionExpression", "attribute_exists(PK)"},
                               {"ExpressionAttributeValues", sub_values}});
    return true;
}

std::vector<bool> DynamoStore::record_attempts(std::span<const DeliveryAttempt> attempts) {
    std::vector<bool> out;
    out.reserve(attempts.size());
    for (const auto& a : attempts) out.push_back(record_attempt(a));
    return out;
}

DeliveryPage DynamoStore::list_deliveries(const std::string& subscription_id,
                                          std::optional<std::int64_t> before, int limit) {
    DeliveryPage page;
    if (!is_valid_utf8(subscription_id) || subscription_id.empty() || limit <= 0) return page;
    if (before && *before <= 1) return page;
    const std::string upper = before ? delivery_sk(*before - 1) : "D#~";
    for (auto& item :
         query_all({{"KeyConditionExpression", "PK = :pk AND SK BETWEEN :lo AND :hi"},
                    {"ExpressionAttributeValues",
                     {{":pk", S(deliveries_pk(subscription_id))}, {":lo", S("D#")}, {":hi", S(upper)}}},
                    {"ScanIndexForward", false},
                    {"ConsistentRead", true},
                    {"Limit", limit + 1}},
                   static_cast<std::size_t>(limit) + 1))
        page.items.push_back(delivery_of(item));
    if (static_cast<int>(page.items.size()) > limit) {
        page.items.pop_back();
        page.next_before = page.items.back().id;
    }
    return page;
}

std::optional<WebhookDelivery> DynamoStore::get_delivery(const std::string& subscription_id,
                                                         std::int64_t delivery_id) {
    if (!is_valid_utf8(subscription_id) || subscription_id.empty()) return std::nullopt;
    const auto item = get_item(deliveries_pk(subscription_id), delivery_sk(delivery_id));
    if (!item) return std::nullopt;
    return delivery_of(*item);
}

std::optional<WebhookDelivery> DynamoStore::redeliver(const std::string& subscription_id,
                                                      std::int64_t delivery_id, UnixSeconds now) {
    if (!is_valid_utf8(subscription_id) || subscription_id.empty()) return std::nullopt;
    DynamoReply reply =
        write("UpdateItem",
              {{"Key", key_of(deliveries_pk(subscription_id), delivery_sk(delivery_id))},
               {"UpdateExpression", "SET #delivery_status = :pending, next_attempt_at = :now"},
               {"ConditionExpression", "attribute_exists(PK)"},
               {"ExpressionAttributeNames", names({"delivery_status"})},
               {"ExpressionAttributeValues", {{":pending", S(kPending)}, {":now", N(now)}}},
               {"ReturnValues", "ALL_NEW"}},
              [](const Item* item) { return item != nullptr; });
    if (reply.is("ConditionalCheckFailedException")) return std::nullopt;
    if (!reply.ok())
        throw StoreUnavailable("DynamoDB UpdateItem failed: " + reply.error_type + " " + reply.message);
    return delivery_of(reply.body["Attributes"]);
}

std::int64_t DynamoStore::count_pending(const std::string& subscription_id) {
    if (!is_valid_utf8(subscription_id) || subscription_id.empty()) return 0;
    return static_cast<std::int64_t>(webhook_deliveries(subscription_id, true).size());
}

std::int64_t DynamoStore::prune_deliveries(UnixSeconds before) {
    std::int64_t pruned = 0;
    for (const auto& s : list_webhooks()) {
        for (const auto& item : webhook_deliveries(s.id, false)) {
            if (s_or(item, "delivery_status") == kPending) continue;
            const auto last = optional_n(item, "last_attempt_at");
            if (!last || *last >= before) continue;
            // The delivery, then its event's marker (the cursor is past that event long since).
            client_.must("DeleteItem", {{"TableName", options_.table},
                                        {"Key", key_of(s_or(item, "PK"), s_or(item, "SK"))}});
            client_.must("DeleteItem",
                         {{"TableName", options_.table},
                          {"Key", key_of(s_or(item, "PK"), event_marker_sk(n_or(item, "event_id")))}});
            ++pruned;
        }
    }
    return pruned;
}

}  // namespace broker
