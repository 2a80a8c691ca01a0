// DynamoStore's allocation: the participant's slot items decide idempotency and the limit
// (strongly consistent reads of the participant's own partition); the status index only
// proposes candidates, read from a random start so that concurrent requests spread over the
// pool; a candidate is taken by a conditional update of its own item. See dynamo_store.hpp
// for the protocol and how a crash between its steps is repaired.
#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

std::mt19937_64& random_engine() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return engine;
}

std::string random_token() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string token;
    std::uniform_int_distribution<int> digit(0, 15);
    for (int i = 0; i < 24; ++i) token += kHex[digit(random_engine())];
    return token;
}

constexpr std::size_t kPositionsKept = 512;
constexpr std::size_t kPositionsSeed = 64;  // fewer known start points than this: read more
constexpr std::size_t kCandidatesPerTry = 25;
constexpr int kRounds = 60;  // rounds of one request before it answers 503
constexpr int kDoubtWaits = 100;  // looks, ~2 s in all, for a take in doubt to settle

}  // namespace

std::vector<DynamoStore::Slot> DynamoStore::read_slots(const std::string& participant) {
    std::vector<Slot> slots;
    for (const auto& item : query_all(
             {{"KeyConditionExpression", "PK = :pk AND begins_with(SK, :slot)"},
              {"ExpressionAttributeValues", {{":pk", S(participant_pk(participant))}, {":slot", S("SLOT#")}}},
              {"ConsistentRead", true}})) {
        Slot s;
        s.sort_key = s_or(item, "SK");
        s.index = std::atoi(s.sort_key.c_str() + 5);
        s.sandbox_id = s_or(item, "sandbox");
        s.key = s_or(item, "ikey");
        s.token = s_or(item, "claim_token");
        s.taken_at = n_or(item, "taken_at");
        s.confirmed = item.contains("confirmed_at");
        slots.push_back(std::move(s));
    }
    return slots;
}

void DynamoStore::drop_slot(const std::string& participant, const Slot& slot, bool with_key,
                            bool unconfirmed_only) {
    // A slot dropped for its age must still be unconfirmed: its taker may have taken the
    // sandbox and confirmed the slot since it was read (the confirmation is the fence).
    const json values = {{":t", S(slot.token)}};
    if (!conditional("DeleteItem",
                     {{"Key", key_of(participant_pk(participant), slot.sort_key)},
                      {"ConditionExpression", unconfirmed_only
                                                  ? "claim_token = :t AND attribute_not_exists(confirmed_at)"
                                                  : "claim_token = :t"},
                      {"ExpressionAttributeValues", values}},
                     [](const Item* item) { return item == nullptr; })) {
        return;  // its taker confirmed it (or another request dropped it): its key stays
    }
    if (with_key) {
        conditional("DeleteItem", {{"Key", key_of(participant_pk(participant), "KEY#" + slot.key)},
                                   {"ConditionExpression", "claim_token = :t"},
                                   {"ExpressionAttributeValues", values}});
    }
}

void DynamoStore::remember_position(const std::string& sandbox_id) {
    std::lock_guard lock(positions_mutex_);
    if (positions_.size() < kPositionsKept) {
        positions_.push_back(sandbox_id);
    } else {
        std::uniform_int_distribution<std::size_t> pick(0, positions_.size() - 1);
        positions_[pick(random_engine())] = sandbox_id;
    }
}

std::size_t DynamoStore::positions_size() {
    std::lock_guard lock(positions_mutex_);
    return positions_.size();
}

std::optional<std::string> DynamoStore::random_position() {
    std::lock_guard lock(positions_mutex_);
    if (positions_.empty()) return std::nullopt;
    std::uniform_int_distribution<std::size_t> pick(0, positions_.size() - 1);
    return positions_[pick(random_engine())];
}

std::vector<std::string> DynamoStore::find_candidates(const std::string& prefix, std::size_t want,
                                                      const std::vector<std::string>& tried, bool from_start,
                                                      const std::vector<std::string>& held_back) {
    // A request alone in this process reads the index from its beginning and offers the lowest
    // name first (an uncontended pool is handed out in name order). Otherwise, and on every
    // later look, it starts at a random point (a sandbox seen available before; a first burst
    // reads one larger page for such points) and wraps around, taking the page in random
    // order: concurrent requests look in different places instead of fighting over the same
    // first few, and every available sandbox is reachable, wherever it sits.
    json base = {{"TableName", options_.table},
                 {"IndexName", options_.status_index},
                 {"KeyConditionExpression", "#s = :s"},
                 {"ExpressionAttributeNames", {{"#s", "status"}}},
                 {"ExpressionAttributeValues", {{":s", S("available")}}},
                 {"Limit", prefix.empty() ? 25 : 1000}};
    if (!prefix.empty()) {
        base["FilterExpression"] = "begins_with(#n, :prefix)";
        base["ExpressionAttributeNames"]["#n"] = "name";
        base["ExpressionAttributeValues"][":prefix"] = S(prefix);
    }
    const std::set<std::string> skip(tried.begin(), tried.end());
    std::vector<std::pair<std::string, std::string>> found;  // name, id
    if (!from_start && positions_size() < kPositionsSeed) {
        // Start points for a burst: one larger page of the index, remembered.
        json seed = base;
        seed.erase("FilterExpression");
        seed["ExpressionAttributeNames"].erase("#n");
        seed["ExpressionAttributeValues"].erase(":prefix");
        seed["Limit"] = kPositionsKept;
        seed["ProjectionExpression"] = "sandbox_id";
        // Named: a range-for over a member of the temporary answer would read freed memory.
        json answer = client_.must("Query", seed);
        for (const auto& item : answer["Items"]) remember_position(s_or(item, "sandbox_id"));
    }
    const auto start = from_start ? std::nullopt : random_position();
    for (int pass = start ? 0 : 1; pass < 2 && found.size() < want; ++pass) {
        json request = base;
        if (pass == 0) {
            request["ExclusiveStartKey"] = {{"PK", S(sandbox_pk(*start))},
                                            {"SK", S(kSandboxSort)},
                                            {"status", S("available")},
                                            {"allocated_at", N(0)}};
        }
        bool wrapped_past_start = false;
        while (found.size() < want && !wrapped_past_start) {
            json answer = client_.must("Query", request);
            for (const auto& item : answer["Items"]) {
                const std::string id = s_or(item, "sandbox_id");
                if (pass == 1 && start && id == *start) wrapped_past_start = true;
                if (id.empty() || skip.count(id) ||
                    std::any_of(found.begin(), found.end(), [&](const auto& f) { return f.second == id; }))
                    continue;
                const std::string name = s_or(item, "name");
                if (std::any_of(held_back.begin(), held_back.end(),
                                [&](const std::string& p) { return name_has_prefix(name, p); }))
                    continue;
                found.emplace_back(name, id);
            }
            if (!answer.contains("LastEvaluatedKey")) break;
            request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
        }
    }
    std::vector<std::string> ids;
    if (found.empty()) return ids;
    if (from_start) {
        std::iter_swap(found.begin(), std::min_element(found.begin(), found.end()));
        std::shuffle(found.begin() + 1, found.end(), random_engine());
    } else {
        std::shuffle(found.begin(), found.end(), random_engine());
    }
    for (auto& f : found) {
        remember_position(f.second);
        ids.push_back(std::move(f.second));
    }
    return ids;
}

AllocateOutcome DynamoStore::nothing_available(const std::string& prefix) {
    if (prefix.empty()) return AllocateOutcome::pool_empty;
    for (const SandboxStatus status : kAllStatuses) {
        if (status == SandboxStatus::deleted) continue;
        json request = {{"TableName", options_.table},
                        {"IndexName", options_.status_index},
                        {"KeyConditionExpression", "#s = :s"},
                        {"FilterExpression", "begins_with(#n, :prefix)"},
                        {"ExpressionAttributeNames", {{"#s", "status"}, {"#n", "name"}}},
                        {"ExpressionAttributeValues", {{":s", S(to_string(status))}, {":prefix", S(prefix)}}},
                        {"Select", "COUNT"}};
        for (;;) {
            json answer = client_.must("Query", request);
            if (answer.value("Count", 0) > 0) return AllocateOutcome::pool_empty;
            if (!answer.contains("LastEvaluatedKey")) break;
            request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
        }
    }
    return AllocateOutcome::no_prefix_match;
}

bool DynamoStore::confirm_slot(const std::string& participant, Slot& slot) {
    // Still this request's slot after the take: then no other request can have dropped it for
    // its age (that drop requires it unconfirmed), so the take stands. Otherwise the slot was
    // taken over while the take was on its way, and the take must be undone.
    return conditional("UpdateItem",
                       {{"Key", key_of(participant_pk(participant), slot.sort_key)},
                        {"UpdateExpression", "SET confirmed_at = taken_at"},
                        {"ConditionExpression", "claim_token = :t AND sandbox = :id"},
                        {"ExpressionAttributeValues", {{":t", S(slot.token)}, {":id", S(slot.sandbox_id)}}}},
                       [&](const Item* item) {
                           return item && s_or(*item, "claim_token") == slot.token &&
                                  item->contains("confirmed_at");
                       });
}

void DynamoStore::undo_take(const AllocateRequest& r, const std::string& sandbox_id,
                            const std::optional<CarriedEvent>& carried) {
    // Back to available exactly as this request took it; if anything changed since, it is no
    // longer this request's to give back. The allocation's event goes with the take it rode on.
    json request = {
        {"Key", key_of(sandbox_pk(sandbox_id), kSandboxSort)},
        {"UpdateExpression",
         "SET #s = :avail, allocated_at = :zero, updated_at = :now "
         "REMOVE allocated_to_track, idempotency_key, track_name"},
        {"ConditionExpression",
         "#s = :alloc AND allocated_to_track = :p AND allocated_at = :at AND idempotency_key = :key"},
        {"ExpressionAttributeNames", {{"#s", "status"}}},
        {"ExpressionAttributeValues",
         {{":avail", S("available")},
          {":alloc", S("allocated")},
          {":zero", N(0)},
          {":now", N(r.now)},
          {":p", S(r.participant_id)},
          {":at", N(r.now)},
          {":key", S(r.idempotency_key)}}}};
    // The event's place in the list moves when the relay takes an earlier one off: read again.
    int index = carried ? carried->index : -1;
    for (int attempt = 0; attempt < 5; ++attempt) {
        json attempt_request = request;
        if (index >= 0) {
            const std::string at = "#obx[" + std::to_string(index) + "]";
            attempt_request["UpdateExpression"] = request["UpdateExpression"].get<std::string>() + ", " + at;
            attempt_request["ConditionExpression"] =
                request["ConditionExpression"].get<std::string>() + " AND " + at + ".tok = :obx_tok";
            attempt_request["ExpressionAttributeNames"]["#obx"] = "outbox";
            attempt_request["ExpressionAttributeValues"][":obx_tok"] = S(carried->token);
        }
        if (conditional("UpdateItem", attempt_request)) {
            if (index < 0) return;
            // An emptied list goes as well (the item as it was before the take).
            const DynamoReply emptied =
                client_.call("UpdateItem", {{"TableName", options_.table},
                                            {"Key", request["Key"]},
                                            {"UpdateExpression", "REMOVE #obx"},
                                            {"ConditionExpression", "size(#obx) = :zero"},
                                            {"ExpressionAttributeNames", {{"#obx", "outbox"}}},
                                            {"ExpressionAttributeValues", {{":zero", N(0)}}}});
            if (!emptied.ok() && !emptied.is("ConditionalCheckFailedException"))
                throw StoreUnavailable("DynamoDB UpdateItem (undo) failed: " + emptied.error_type);
            drop_intent(carried);
            return;
        }
        if (index < 0) return;
        const auto item = get_item(sandbox_pk(sandbox_id), std::string(kSandboxSort));
        if (!item || !item->contains("outbox")) return;  // not as taken: not this request's
        const json& list = (*item)["outbox"]["L"];
        index = -1;
        for (std::size_t i = 0; i < list.size(); ++i)
            if (s_or(list[i]["M"], "tok") == carried->token) index = static_cast<int>(i);
        if (index < 0) return;
    }
    // Not given back: the allocation and its event stand (the relay settles the intent).
}

std::optional<Sandbox> DynamoStore::take(const AllocateRequest& r, const std::string& sandbox_id,
                                         std::optional<CarriedEvent>& carried, Item& taken_item) {
    bool renamed = false;
    if (carried) {
        // The intent of a candidate lost to another request names this one instead: one write
        // per lost race, not two. Not when a relay fenced it meanwhile: then a new one.
        Item intent = key_of("OUTBOX#PENDING", carried->pending_sk);
        intent["tok"] = S(carried->token);
        intent["intent_for"] = S(sandbox_id);
        intent["written"] = N(outbox_now());
        const DynamoReply renamed_reply =
            client_.call("PutItem", {{"TableName", options_.table},
                                     {"Item", intent},
                                     {"ConditionExpression", "attribute_not_exists(fenced_at)"}});
        if (!renamed_reply.ok() && !renamed_reply.is("ConditionalCheckFailedException"))
            throw StoreUnavailable("DynamoDB outbox intent failed: " + renamed_reply.error_type);
        renamed = renamed_reply.ok();
        if (renamed) {
            carried->index = -1;
            outbox_step(OutboxStep::intent_written);
        }
    }
    if (!renamed) {
        carried = intend_event(sandbox_id, r.now, SandboxStatus::available, SandboxStatus::allocated,
                               r.participant_id, "allocate");
    }
    json values = {{":avail", S("available")},
                   {":alloc", S("allocated")},
                   {":p", S(r.participant_id)},
                   {":now", N(r.now)},
                   {":key", S(r.idempotency_key)},
                   {":hours", N_decimal(static_cast<double>(r.lease.lab_duration.count()) / 3600.0)}};
    std::string update =
        "SET #s = :alloc, allocated_to_track = :p, allocated_at = :now, idempotency_key = :key, "
        "updated_at = :now, lab_duration_hours = :hours";
    std::string remove = " REMOVE deletion_requested_at";
    if (r.track_name.empty()) {
        remove += ", track_name";
    } else {
        update += ", track_name = :track";
        values[":track"] = S(r.track_name);
    }
    std::string condition = "attribute_exists(PK) AND #s = :avail";
    json names = {{"#s", "status"}};
    if (!r.name_prefix.empty()) {
        condition += " AND begins_with(#n, :prefix)";
        names["#n"] = "name";
        values[":prefix"] = S(r.name_prefix);
    }
    // Taken by this request: allocated to the participant under its key at its time.
    const auto own = [&](const Item* item) {
        return item && s_or(*item, "status") == "allocated" &&
               s_or(*item, "allocated_to_track") == r.participant_id &&
               s_or(*item, "idempotency_key") == r.idempotency_key && n_or(*item, "allocated_at") == r.now;
    };
    json request = {{"Key", key_of(sandbox_pk(sandbox_id), kSandboxSort)},
                    {"UpdateExpression", update + remove},
                    {"ConditionExpression", condition},
                    {"ExpressionAttributeNames", names},
                    {"ExpressionAttributeValues", values},
                    {"ReturnValues", "ALL_NEW"}};
    carry(request, carried);
    DynamoReply reply = write("UpdateItem", request, own);
    // Lost: the intent stays for the next candidate (the caller drops it when none is left).
    if (reply.is("ConditionalCheckFailedException")) return std::nullopt;
    if (!reply.ok()) throw StoreUnavailable("DynamoDB UpdateItem (allocate) failed: " + reply.error_type);
    const Item& after = reply.body["Attributes"];
    if (carried && after.contains("outbox")) {
        const json& list = after["outbox"]["L"];
        for (std::size_t i = 0; i < list.size(); ++i)
            if (s_or(list[i]["M"], "tok") == carried->token) carried->index = static_cast<int>(i);
    }
    taken_item = after;
    return sandbox_from_item(after);
}

AllocateResult DynamoStore::allocate(const AllocateRequest& r) {
    const int limit = std::max(1, r.max_per_participant);
    const bool keyed = limit > 1;  // with a limit of 1 the one slot is the key's claim as well
    const bool prefix_ok = is_valid_utf8(r.name_prefix);
    if (!is_valid_utf8(r.participant_id) || !is_valid_utf8(r.idempotency_key) ||
        !is_valid_utf8(r.track_name)) {
        throw StoreUnavailable("allocation request values are not valid UTF-8");
    }
    // Alone, the lowest name goes first (an uncontended pool is handed out in name order); in
    // a burst, requests start at random points instead of all on the same first sandbox.
    ++allocating_;
    struct Done {
        std::atomic<int>& n;
        ~Done() { --n; }
    } done{allocating_};
    // Every slot this request writes is dated r.now: the budget runs from the start, not per slot.
    const auto budget_end = std::chrono::steady_clock::now() + kDynamoAllocationBudget;
    std::optional<CallDeadline> deadline;
    deadline.emplace(budget_end);
    int conflicts = 0;
    std::vector<std::string> tried;
    for (int round = 0; round < kRounds; ++round) {
        if (round > 0) {
            // Another request of this participant is between its steps: let it finish.
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 * round, 50)));
        }
        // 1. What the participant holds: its slots, each checked against its sandbox.
        const std::vector<Slot> slots = read_slots(r.participant_id);
        std::vector<Item> keys;
        for (const auto& slot : slots) keys.push_back(key_of(sandbox_pk(slot.sandbox_id), kSandboxSort));
        std::map<std::string, Sandbox> items;
        for (const auto& item : batch_get(keys)) {
            Sandbox s = sandbox_from_item(item);
            items.emplace(s.sandbox_id, std::move(s));
        }
        std::vector<Sandbox> holdings;
        std::set<int> used;
        bool in_progress = false;
        for (const auto& slot : slots) {
            const auto it = items.find(slot.sandbox_id);
            const Sandbox* s = it == items.end() ? nullptr : &it->second;
            if (s && s->status == SandboxStatus::allocated && s->allocated_to_track == r.participant_id &&
                s->idempotency_key == slot.key) {
                holdings.push_back(*s);
                used.insert(slot.index);
                continue;
            }
            // Ours once and let go since (returned, expired, removed), or a taker that died
            // between writing the slot and taking the sandbox: the slot is free again.
            // A confirmed slot whose sandbox is not held is released as well: its take had
            // landed before the confirmation.
            const bool released =
                !s || slot.confirmed ||
                (s->allocated_to_track == r.participant_id && s->status != SandboxStatus::available &&
                 s->allocated_at.value_or(0) >= slot.taken_at);
            if (released || slot.taken_at + kDynamoSlotTimeout <= r.now) {
                drop_slot(r.participant_id, slot, keyed, !released);
                continue;
            }
            in_progress = true;
            used.insert(slot.index);
        }
        if (auto answer = answer_from_holdings(holdings, r)) {
            answer->conflicts = conflicts;
            return std::move(*answer);
        }
        if (in_progress) continue;
        if (!prefix_ok) return {AllocateOutcome::no_prefix_match, std::nullopt};

        // Reservations and track limits (dynamo_quota.cpp); nothing is read when none apply.
        const QuotaStep quota = plan_quota(r);
        if (quota.refusal) return {*quota.refusal, std::nullopt, conflicts};
        const auto held_back_or_empty = [&] {
            const bool held = count_available(r.name_prefix) > 0;
            return AllocateResult{
                held ? AllocateOutcome::reserved_for_others : nothing_available(r.name_prefix), std::nullopt,
                conflicts};
        };
        if (quota.blocked_all) return held_back_or_empty();

        // 2. Candidates, then a slot naming the first, then the sandbox itself.
        std::vector<std::string> candidates =
            find_candidates(r.name_prefix, kCandidatesPerTry, tried, tried.empty() && allocating_.load() == 1,
                            quota.blocked_prefixes);
        if (candidates.empty() && !tried.empty()) {
            // A sandbox this request lost to another may have been given back since (a take
            // undone at the gate, or for its slot): all are looked at before "none is left".
            tried.clear();
            candidates = find_candidates(r.name_prefix, kCandidatesPerTry, tried, false, quota.blocked_prefixes);
        }
        // Another's take under the gate that cannot pass is given back: a request that the rules
        // let take finds nothing only once such takes have settled (for a bounded time), whether
        // or not a window is still open for it. (One the reservations hold back from the whole
        // pool was answered above, at once: it would not get such a sandbox.)
        for (int wait = 1; candidates.empty() && wait <= kDoubtWaits && others_in_doubt(r.now); ++wait) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2 * wait, 20)));
            candidates = find_candidates(r.name_prefix, kCandidatesPerTry, tried, false, quota.blocked_prefixes);
        }
        if (candidates.empty()) {
            if (quota.gated) return held_back_or_empty();
            return {nothing_available(r.name_prefix), std::nullopt, conflicts};
        }
        int index = 0;
        while (used.count(index)) ++index;
        if (index >= limit) continue;  // a racing request took the last free slot meanwhile
        Slot slot;
        slot.sort_key = "SLOT#" + std::to_string(index);
        slot.index = index;
        slot.key = r.idempotency_key;
        slot.token = random_token();
        slot.taken_at = r.now;
        slot.sandbox_id = candidates.front();
        const json slot_item = {{"PK", S(participant_pk(r.participant_id))},
                                {"SK", S(slot.sort_key)},
                                {"sandbox", S(slot.sandbox_id)},
                                {"ikey", S(slot.key)},
                                {"claim_token", S(slot.token)},
                                {"taken_at", N(r.now)}};
        if (!conditional(
                "PutItem", {{"Item", slot_item}, {"ConditionExpression", "attribute_not_exists(PK)"}},
                [&](const Item* item) { return item && s_or(*item, "claim_token") == slot.token; })) {
            ++conflicts;
            continue;  // a racing request of the participant took this slot: decide again
        }
        if (keyed) {
            const json key_item = {{"PK", S(participant_pk(r.participant_id))},
                                   {"SK", S("KEY#" + r.idempotency_key)},
                                   {"slot", S(slot.sort_key)},
                                   {"claim_token", S(slot.token)},
                                   {"taken_at", N(r.now)}};
            // An orphaned key claim (its taker died) is taken over once its slot is gone.
            json key_values = {{":dead", N(r.now - kDynamoSlotTimeout)}};
            if (!conditional(
                    "PutItem",
                    {{"Item", key_item},
                     {"ConditionExpression", "attribute_not_exists(PK) OR taken_at <= :dead"},
                     {"ExpressionAttributeValues", key_values}},
                    [&](const Item* item) { return item && s_or(*item, "claim_token") == slot.token; })) {
                ++conflicts;
                drop_slot(r.participant_id, slot, false, false);
                continue;  // the same key is being taken by a racing request
            }
        }
        // A limited track's seat, naming the slot: lost to a racing request of the track,
        // the round decides again (and answers track_limit_reached when the seats are full).
        if (quota.max_active > 0 && !take_seat(r, quota, slot)) {
            ++conflicts;
            drop_slot(r.participant_id, slot, keyed, false);
            continue;
        }
        // Under the gate, this round's takes are in doubt until one passes it; the round
        // leaves the list however it ends (after giving back what it took, or once its take
        // stands).
        struct Doubt {
            DynamoStore& store;
            std::string entry;
            ~Doubt() {
                if (entry.empty()) return;
                try {
                    store.leave_doubt(entry);
                } catch (const std::exception&) {
                    // Left to age out (kDynamoSlotTimeout): until then it only delays answers
                    // that there is nothing to take.
                }
            }
        } doubt{*this, quota.gated ? enter_doubt(r.now) : std::string()};
        // The allocation's event intent, one for the candidates of this round (see take()).
        std::optional<CarriedEvent> carried;
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            const std::string& id = candidates[i];
            if (i > 0) {
                if (!conditional("UpdateItem",
                                 {{"Key", key_of(participant_pk(r.participant_id), slot.sort_key)},
                                  {"UpdateExpression", "SET sandbox = :id"},
                                  {"ConditionExpression", "claim_token = :t"},
                                  {"ExpressionAttributeValues", {{":id", S(id)}, {":t", S(slot.token)}}}},
                                 [&](const Item* item) {
                                     return item && s_or(*item, "claim_token") == slot.token &&
                                            s_or(*item, "sandbox") == id;
                                 })) {
                    ++conflicts;
                    break;  // the slot was taken for a dead one's: start over
                }
                slot.sandbox_id = id;
            }
            tried.push_back(id);
            Item taken_item;
            auto taken = take(r, id, carried, taken_item);
            if (!taken) {
                ++conflicts;  // another request took it first
                continue;
            }
            // While a reservation's window is open the take stands only if no other allocation
            // passed the gate since this one checked what remains: otherwise it is given back.
            if (quota.gated && !settle_gate(quota, taken->name, r.now)) {
                undo_take(r, id, carried);
                carried.reset();  // taken back with its event, or standing with it
                ++conflicts;
                break;
            }
            // The take stands only if the slot is still this request's: confirmed past the
            // budget as well, for an unconfirmed take would be left half done.
            deadline.reset();
            if (!confirm_slot(r.participant_id, slot)) {
                // Another request dropped the slot as dead while the take was on its way: it
                // may have allocated meanwhile, so this take is given back.
                undo_take(r, id, carried);
                carried.reset();  // taken back with its event, or standing with it
                ++conflicts;
                break;
            }
            record(id, r.now, SandboxStatus::available, SandboxStatus::allocated, r.participant_id,
                   "allocate", carried, &taken_item);
            charge(quota.own, taken->name, r.now);
            return {AllocateOutcome::allocated, std::move(*taken), conflicts};
        }
        drop_intent(carried);  // no take of this round landed with it
        if (!deadline) {
            // The slot was lost after a take: decide again from what the participant holds.
            deadline.emplace(budget_end);
            continue;
        }
        // Every candidate was taken by someone else: give the slot back, look again.
        drop_slot(r.participant_id, slot, keyed, false);
    }
    throw StoreUnavailable(
        "DynamoDB allocation did not settle (other requests of the participant kept it busy)");
}

void DynamoStore::adopt_allocation(const Sandbox& s, UnixSeconds now) {
    if (s.status != SandboxStatus::allocated || s.allocated_to_track.empty()) return;
    const std::vector<Slot> slots = read_slots(s.allocated_to_track);
    std::set<int> used;
    for (const auto& slot : slots) {
        if (slot.sandbox_id == s.sandbox_id) return;  // has its slot
        used.insert(slot.index);
    }
    for (int index = 0;; ++index) {
        if (used.count(index)) continue;
        const json item = {{"PK", S(participant_pk(s.allocated_to_track))},
                           {"SK", S("SLOT#" + std::to_string(index))},
                           {"sandbox", S(s.sandbox_id)},
                           {"ikey", S(s.idempotency_key)},
                           {"claim_token", S(random_token())},
                           {"taken_at", N(s.allocated_at.value_or(now))},
                           {"confirmed_at", N(s.allocated_at.value_or(now))}};
        if (conditional("PutItem", {{"Item", item}, {"ConditionExpression", "attribute_not_exists(PK)"}}))
            return;
        used.insert(index);
    }
}

}  // namespace broker
