// DynamoStore's reservations and track limits, on single-item conditional writes only (the
// emulator has no transactions). Items (none carries the original's index attributes):
//   QUOTA#RESERVATIONS / RES#<id>   a reservation: track, prefix, count, used, window
//   QUOTA#LIMITS / LIMIT#<track>    a track's max_active
//   QUOTA#GATE / GATE               `seq`: bumped by every allocation while a reservation's
//                                   window is open
//   QUOTA#DOUBT / <when>#<token>    an allocation round whose take has not passed the gate yet
//   TRACK#<track> / SEAT#<n>        one of a limited track's max_active seats, n < max_active
// A limited track's allocation takes a seat after its participant slot (dynamo_allocate.cpp),
// naming that slot and its token: the seat is held while the slot is (in progress, or its
// sandbox allocated to the participant and unexpired), and free once the slot is gone or has
// another token, so it needs no confirmation or undo of its own. While a reservation's window
// is open, an allocation reads the gate's seq first, then checks with consistent reads that
// enough available sandboxes remain for what the reservations hold back, takes its sandbox,
// and bumps seq conditionally on the value it read: of two allocations that checked the same
// state only one passes; the other gives its sandbox back and decides again. Until it passes,
// a take is in doubt and listed (QUOTA#DOUBT): a request that finds nothing for it waits while
// another's take is in doubt, for a take given back would have been its sandbox.
#include <algorithm>
#include <random>
#include <set>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

constexpr std::string_view kReservationsPk = "QUOTA#RESERVATIONS";
constexpr std::string_view kLimitsPk = "QUOTA#LIMITS";
constexpr std::string_view kGatePk = "QUOTA#GATE";
constexpr std::string_view kDoubtPk = "QUOTA#DOUBT";

std::string track_pk(std::string_view track) {
    return "TRACK#" + std::string(track);
}

std::string gate_token() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::to_string(engine());
}

Reservation reservation_from_item(const Item& item) {
    Reservation r;
    r.id = s_or(item, "id");
    r.track = s_or(item, "track");
    r.name_prefix = s_or(item, "name_prefix");
    r.count = n_or(item, "count");
    r.used = n_or(item, "used");
    r.starts_at = n_or(item, "starts_at");
    r.ends_at = n_or(item, "ends_at");
    r.created_at = n_or(item, "created_at");
    return r;
}

}  // namespace

// --- the rules -----------------------------------------------------------------------------

DynamoStore::QuotaRules DynamoStore::quota_rules(bool fresh) {
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(quota_mutex_);
        if (!fresh && quota_rules_ && now - quota_rules_->read_at < kDynamoQuotaCacheAge)
            return *quota_rules_;
        generation = quota_generation_;
    }
    // Read outside the lock: concurrent allocations do not queue behind each other's round trips.
    QuotaRules rules;
    rules.read_at = now;
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(kReservationsPk)}}},
                                       {"ConsistentRead", true}}))
        rules.reservations.push_back(reservation_from_item(item));
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(kLimitsPk)}}},
                                       {"ConsistentRead", true}}))
        rules.limits[s_or(item, "track")] = n_or(item, "max_active");
    std::lock_guard lock(quota_mutex_);
    // Not over a newer read, nor over a change made through this process while we read.
    if (generation == quota_generation_ && (!quota_rules_ || quota_rules_->read_at <= rules.read_at))
        quota_rules_ = rules;
    return rules;
}

void DynamoStore::forget_quota_rules() {
    std::lock_guard lock(quota_mutex_);
    quota_rules_.reset();
    ++quota_generation_;
}

void DynamoStore::create_reservation(const Reservation& r) {
    if (!is_valid_utf8(r.track) || !is_valid_utf8(r.name_prefix) || !is_valid_utf8(r.id))
        throw StoreUnavailable("reservation values are not valid UTF-8");
    const json item = {{"PK", S(kReservationsPk)},
                       {"SK", S("RES#" + r.id)},
                       {"id", S(r.id)},
                       {"track", S(r.track)},
                       {"name_prefix", S(r.name_prefix)},
                       {"count", N(r.count)},
                       {"used", N(0)},
                       {"starts_at", N(r.starts_at)},
                       {"ends_at", N(r.ends_at)},
                       {"created_at", N(r.created_at)}};
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", item}});
    forget_quota_rules();
}

std::vector<Reservation> DynamoStore::list_reservations() {
    std::vector<Reservation> out = quota_rules(true).reservations;
    std::sort(out.begin(), out.end(), [](const Reservation& a, const Reservation& b) {
        return a.starts_at != b.starts_at ? a.starts_at < b.starts_at : a.id < b.id;
    });
    return out;
}

std::optional<Reservation> DynamoStore::get_reservation(const std::string& id) {
    if (!is_valid_utf8(id)) return std::nullopt;
    auto item = get_item(std::string(kReservationsPk), "RES#" + id);
    if (!item) return std::nullopt;
    return reservation_from_item(*item);
}

bool DynamoStore::cancel_reservation(const std::string& id) {
    if (!is_valid_utf8(id)) return false;
    const bool removed = conditional("DeleteItem", {{"Key", key_of(kReservationsPk, "RES#" + id)},
                                                    {"ConditionExpression", "attribute_exists(PK)"}});
    forget_quota_rules();
    return removed;
}

void DynamoStore::set_track_limit(const std::string& track, std::int64_t max_active) {
    if (!is_valid_utf8(track)) throw StoreUnavailable("track is not valid UTF-8");
    client_.must("PutItem", {{"TableName", options_.table},
                             {"Item",
                              {{"PK", S(kLimitsPk)},
                               {"SK", S("LIMIT#" + track)},
                               {"track", S(track)},
                               {"max_active", N(max_active)}}}});
    forget_quota_rules();
}

bool DynamoStore::remove_track_limit(const std::string& track) {
    if (!is_valid_utf8(track)) return false;
    const bool removed = conditional("DeleteItem", {{"Key", key_of(kLimitsPk, "LIMIT#" + track)},
                                                    {"ConditionExpression", "attribute_exists(PK)"}});
    forget_quota_rules();
    return removed;
}

std::int64_t DynamoStore::count_available(const std::string& name_prefix) {
    if (!is_valid_utf8(name_prefix)) return 0;
    json request = {{"TableName", options_.table},
                    {"IndexName", options_.status_index},
                    {"KeyConditionExpression", "#s = :s"},
                    {"ExpressionAttributeNames", {{"#s", "status"}}},
                    {"ExpressionAttributeValues", {{":s", S("available")}}},
                    {"Select", "COUNT"}};
    if (!name_prefix.empty()) {
        request["FilterExpression"] = "begins_with(#n, :prefix)";
        request["ExpressionAttributeNames"]["#n"] = "name";
        request["ExpressionAttributeValues"][":prefix"] = S(name_prefix);
    }
    std::int64_t count = 0;
    for (;;) {
        json answer = client_.must("Query", request);
        count += answer.value("Count", 0);
        if (!answer.contains("LastEvaluatedKey")) return count;
        request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
    }
}

// --- seats ---------------------------------------------------------------------------------

std::vector<DynamoStore::Seat> DynamoStore::read_seats(const std::string& track, UnixSeconds now,
                                                       bool drop_dead) {
    const auto items =
        query_all({{"KeyConditionExpression", "PK = :pk AND begins_with(SK, :seat)"},
                   {"ExpressionAttributeValues", {{":pk", S(track_pk(track))}, {":seat", S("SEAT#")}}},
                   {"ConsistentRead", true}});
    std::vector<Item> slot_keys;
    for (const auto& seat : items)
        slot_keys.push_back(key_of(participant_pk(s_or(seat, "participant")), s_or(seat, "slot")));
    std::map<std::pair<std::string, std::string>, Item> slots;
    for (auto& slot : batch_get(slot_keys)) {
        std::pair<std::string, std::string> key{s_or(slot, "PK"), s_or(slot, "SK")};
        slots[std::move(key)] = std::move(slot);
    }
    std::vector<Item> sandbox_keys;
    for (const auto& [key, slot] : slots)
        sandbox_keys.push_back(key_of(sandbox_pk(s_or(slot, "sandbox")), kSandboxSort));
    std::map<std::string, Sandbox> sandboxes;
    for (const auto& item : batch_get(sandbox_keys)) {
        Sandbox s = sandbox_from_item(item);
        sandboxes.emplace(s.sandbox_id, std::move(s));
    }
    std::vector<Seat> seats;
    for (const auto& item : items) {
        Seat seat;
        seat.index = std::atoi(s_or(item, "SK").c_str() + 5);
        seat.token = s_or(item, "claim_token");
        const std::string participant = s_or(item, "participant");
        const auto it = slots.find({participant_pk(participant), s_or(item, "slot")});
        if (it != slots.end() && s_or(it->second, "claim_token") == seat.token) {
            const Item& slot = it->second;
            const auto sb = sandboxes.find(s_or(slot, "sandbox"));
            const bool allocated = sb != sandboxes.end() && sb->second.status == SandboxStatus::allocated &&
                                   sb->second.allocated_to_track == participant;
            const bool confirmed = slot.contains("confirmed_at");
            if (allocated) {
                // Held while unexpired; an expired holding no longer counts against the track.
                seat.held = sb->second.expires_at.value_or(0) > now;
            } else if (!confirmed) {
                // A take in progress holds the seat; past the slot timeout its taker is taken
                // for dead, and its slot is dropped (only while still unconfirmed) as the
                // participant's own next request would drop it.
                seat.held = true;
                if (drop_dead && n_or(slot, "taken_at") + kDynamoSlotTimeout <= now) {
                    Slot dead;
                    dead.sort_key = s_or(slot, "SK");
                    dead.token = seat.token;
                    dead.key = s_or(slot, "ikey");
                    drop_slot(participant, dead, true, true);
                    const auto again = get_item(participant_pk(participant), dead.sort_key);
                    seat.held = again && s_or(*again, "claim_token") == seat.token;
                }
            }
        }
        seats.push_back(std::move(seat));
    }
    return seats;
}

std::vector<TrackLimit> DynamoStore::list_track_limits(UnixSeconds now) {
    std::vector<TrackLimit> limits;
    for (const auto& [track, max_active] : quota_rules(true).limits) {
        std::int64_t active = 0;
        for (const auto& seat : read_seats(track, now, false)) active += seat.held ? 1 : 0;
        limits.push_back({track, max_active, active});
    }
    return limits;
}

bool DynamoStore::take_seat(const AllocateRequest& r, const QuotaStep& step, const Slot& slot) {
    const json item = {
        {"PK", S(track_pk(r.track_name))},    {"SK", S("SEAT#" + std::to_string(step.free_seat))},
        {"participant", S(r.participant_id)}, {"slot", S(slot.sort_key)},
        {"claim_token", S(slot.token)},       {"taken_at", N(r.now)}};
    json request = {{"Item", item}};
    if (step.free_seat_token.empty()) {
        request["ConditionExpression"] = "attribute_not_exists(PK)";
    } else {
        request["ConditionExpression"] = "claim_token = :old";
        request["ExpressionAttributeValues"] = {{":old", S(step.free_seat_token)}};
    }
    return conditional("PutItem", request,
                       [&](const Item* seen) { return seen && s_or(*seen, "claim_token") == slot.token; });
}

// --- reservations --------------------------------------------------------------------------

bool DynamoStore::has_available(const std::string& prefix, std::int64_t n) {
    // Candidates from the (eventually consistent) status index, each confirmed by a
    // consistent read of its item: an index that lags shows too few, never too many.
    json request = {{"TableName", options_.table},
                    {"IndexName", options_.status_index},
                    {"KeyConditionExpression", "#s = :s"},
                    {"ExpressionAttributeNames", {{"#s", "status"}}},
                    {"ExpressionAttributeValues", {{":s", S("available")}}},
                    {"ProjectionExpression", "PK, SK"},
                    {"Limit", 100}};
    if (!prefix.empty()) {
        request["FilterExpression"] = "begins_with(#n, :prefix)";
        request["ExpressionAttributeNames"]["#n"] = "name";
        request["ExpressionAttributeValues"][":prefix"] = S(prefix);
    }
    std::int64_t confirmed = 0;
    for (;;) {
        json answer = client_.must("Query", request);
        std::vector<Item> keys;
        for (const auto& item : answer["Items"]) keys.push_back(key_of(s_or(item, "PK"), s_or(item, "SK")));
        for (const auto& item : batch_get(keys)) {
            if (s_or(item, "status") == "available" && name_has_prefix(s_or(item, "name"), prefix))
                ++confirmed;
        }
        if (confirmed >= n) return true;
        if (!answer.contains("LastEvaluatedKey")) return false;
        request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
    }
}

// --- takes in doubt ------------------------------------------------------------------------

std::string DynamoStore::enter_doubt(UnixSeconds now) {
    // An item of its own (the gate item is contended enough): "<when>#<token>", the time
    // telling a crashed taker's entry from a live one.
    const std::string entry = std::to_string(now) + "#" + gate_token();
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", key_of(kDoubtPk, entry)}});
    return entry;
}

void DynamoStore::leave_doubt(const std::string& entry) {
    client_.must("DeleteItem", {{"TableName", options_.table}, {"Key", key_of(kDoubtPk, entry)}});
}

bool DynamoStore::others_in_doubt(UnixSeconds now) {
    // Only a round under the gate enters, and only while there is a reservation (the rules as
    // cached): without one, nothing is read.
    if (quota_rules().reservations.empty()) return false;
    bool live = false;
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(kDoubtPk)}}},
                                       {"ProjectionExpression", "SK"},
                                       {"ConsistentRead", true}})) {
        const std::string entry = s_or(item, "SK");
        if (std::atoll(entry.c_str()) + kDynamoSlotTimeout > now) {
            live = true;
        } else {
            leave_doubt(entry);  // its taker died in doubt: nobody else removes it
        }
    }
    return live;
}

// --- the gate ------------------------------------------------------------------------------

bool DynamoStore::pass_gate(std::int64_t seq) {
    const std::string token = gate_token();
    json request = {{"Key", key_of(kGatePk, "GATE")},
                    {"UpdateExpression", "SET seq = :next, last_token = :token"},
                    {"ExpressionAttributeValues", {{":next", N(seq + 1)}, {":token", S(token)}}}};
    if (seq == 0) {
        request["ConditionExpression"] = "attribute_not_exists(seq)";
    } else {
        request["ConditionExpression"] = "seq = :seq";
        request["ExpressionAttributeValues"][":seq"] = N(seq);
    }
    return conditional("UpdateItem", request,
                       [&](const Item* seen) { return seen && s_or(*seen, "last_token") == token; });
}

bool DynamoStore::settle_gate(const QuotaStep& step, const std::string& name, UnixSeconds now) {
    constexpr int kGateAttempts = 40;
    std::int64_t seq = step.gate_seq;
    for (int attempt = 0; attempt < kGateAttempts; ++attempt) {
        if (pass_gate(seq)) return true;
        const auto gate = get_item(std::string(kGatePk), "GATE");
        seq = gate ? n_or(*gate, "seq") : 0;
        // This take is counted now (its sandbox is no longer available): what remains must
        // still cover what is held back, in the whole pool and under the sandbox's prefixes.
        const QuotaGate again = quota_gate(step.others, now, [&](const std::string& prefix, std::int64_t n) {
            return has_available(prefix, n - 1);
        });
        if (again.blocked_all) return false;
        for (const auto& prefix : again.blocked_prefixes)
            if (name_has_prefix(name, prefix)) return false;
    }
    return false;
}

void DynamoStore::charge(const std::vector<Reservation>& own, const std::string& name, UnixSeconds now) {
    const auto id = reservation_to_charge(own, name, now);
    if (!id) return;
    conditional("UpdateItem", {{"Key", key_of(kReservationsPk, "RES#" + *id)},
                               {"UpdateExpression", "SET used = used + :one"},
                               {"ConditionExpression", "attribute_exists(PK) AND used < #c"},
                               {"ExpressionAttributeNames", {{"#c", "count"}}},
                               {"ExpressionAttributeValues", {{":one", N(1)}}}});
}

DynamoStore::QuotaStep DynamoStore::plan_quota(const AllocateRequest& r) {
    QuotaStep step;
    QuotaRules rules = quota_rules();
    const auto limit = r.track_name.empty() ? rules.limits.end() : rules.limits.find(r.track_name);
    const bool open_window =
        std::any_of(rules.reservations.begin(), rules.reservations.end(),
                    [&](const Reservation& res) { return res.outstanding_at(r.now) > 0; });
    if (limit == rules.limits.end() && !open_window) return step;  // no rule: nothing more to read

    if (limit != rules.limits.end()) {
        step.max_active = limit->second;
        const auto seats = read_seats(r.track_name, r.now, true);
        std::int64_t held = 0;
        std::map<int, std::string> free;  // index -> token of a free seat item
        for (const auto& seat : seats) {
            if (seat.held) {
                ++held;
            } else {
                free[seat.index] = seat.token;
            }
        }
        if (held >= step.max_active) {
            step.refusal = AllocateOutcome::track_limit_reached;
            return step;
        }
        std::set<int> present;
        for (const auto& seat : seats) present.insert(seat.index);
        for (int i = 0; i < step.max_active; ++i) {
            if (!present.count(i)) {
                step.free_seat = i;
                break;
            }
            if (free.count(i)) {
                step.free_seat = i;
                step.free_seat_token = free[i];
                break;
            }
        }
        if (step.free_seat < 0) {
            step.refusal = AllocateOutcome::track_limit_reached;
            return step;
        }
    }
    if (open_window) {
        // The gate's seq first: an allocation passing the gate after this read makes ours fail.
        const auto gate = get_item(std::string(kGatePk), "GATE");
        step.gate_seq = gate ? n_or(*gate, "seq") : 0;
        step.gated = true;
        for (auto& res : quota_rules(true).reservations) {
            if (res.outstanding_at(r.now) <= 0) continue;
            // Kept in the step: settle_gate checks the others again when it loses the gate.
            (!r.track_name.empty() && res.track == r.track_name ? step.own : step.others)
                .push_back(std::move(res));
        }
        const QuotaGate gate_rules =
            quota_gate(step.others, r.now,
                       [&](const std::string& prefix, std::int64_t n) { return has_available(prefix, n); });
        step.blocked_all = gate_rules.blocked_all;
        step.blocked_prefixes = gate_rules.blocked_prefixes;
    }
    return step;
}

}  // namespace broker
