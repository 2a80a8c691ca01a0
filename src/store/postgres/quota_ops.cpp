// The PostgreSQL store's reservations and track limits: see quota_ops.hpp. The statements are
// in sql/quota.sql.
#include "store/postgres/quota_ops.hpp"

#include <algorithm>
#include <pqxx/pqxx>

#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

// Advisory lock keys (class, object): one class for the broker's quota locks; object 0 is
// the lock every allocation takes while a reservation holds sandboxes back, a track's lock
// is the hash of its name (a collision only makes two tracks wait for each other).
constexpr int kQuotaLockClass = 0x51554f54;  // "QUOT"
constexpr int kReservationsLock = 0;

Reservation read_reservation(const pqxx::row& row) {
    Reservation r;
    r.id = row[0].as<std::string>();
    r.track = row[1].as<std::string>();
    r.name_prefix = row[2].as<std::string>();
    r.count = row[3].as<std::int64_t>();
    r.used = row[4].as<std::int64_t>();
    r.starts_at = row[5].as<std::int64_t>();
    r.ends_at = row[6].as<std::int64_t>();
    r.created_at = row[7].as<std::int64_t>();
    return r;
}

std::int64_t count_available_in(pqxx::transaction_base& tx, const std::string& prefix) {
    if (prefix.empty()) return tx.exec_prepared1(stmt::kCountAvailable)[0].as<std::int64_t>();
    if (!is_valid_utf8(prefix)) return 0;
    return tx.exec_prepared1(stmt::kCountAvailablePrefix, prefix)[0].as<std::int64_t>();
}

std::int64_t active_of_track(pqxx::transaction_base& tx, const std::string& track, UnixSeconds now) {
    return tx.exec_prepared1(stmt::kActiveOfTrack, track, now)[0].as<std::int64_t>();
}

std::string array_of(const std::vector<std::string>& items) {
    return text_array_literal(items, [](const std::string& s) { return s; });
}

}  // namespace

bool quota_applies(pqxx::transaction_base& tx, const AllocateRequest& r) {
    return tx.exec_prepared1(stmt::kQuotaApplies, r.track_name, r.now)[0].as<bool>();
}

AllocateResult allocate_under_quota(pqxx::connection& conn, const AllocateRequest& r) {
    pqxx::work tx(conn);
    if (!r.track_name.empty()) {
        const auto limit = tx.exec_prepared(stmt::kTrackLimit, r.track_name);
        if (!limit.empty()) {
            tx.exec_prepared(stmt::kLockTrack, kQuotaLockClass, r.track_name);
            // Read after the lock: every allocation of the track committed before it counts.
            const std::int64_t max_active = limit[0][0].as<std::int64_t>();
            const auto holdings = tx.exec_prepared(stmt::kHoldings, r.participant_id);
            std::vector<Sandbox> held;
            for (const auto& row : holdings) held.push_back(read_sandbox(row, kAfterTaken));
            if (auto answer = answer_from_holdings(held, r)) return std::move(*answer);
            if (active_of_track(tx, r.track_name, r.now) >= max_active)
                return {AllocateOutcome::track_limit_reached, std::nullopt};
        }
    }
    std::vector<Reservation> own;
    std::vector<Reservation> others;
    const bool reserved = tx.exec_prepared1(stmt::kReservationInForce, r.now)[0].as<bool>();
    if (reserved) {
        tx.exec_prepared(stmt::kLockReservations, kQuotaLockClass, kReservationsLock);
        for (const auto& row : tx.exec_prepared(stmt::kActiveReservations, r.now)) {
            Reservation res = read_reservation(row);
            (!r.track_name.empty() && res.track == r.track_name ? own : others).push_back(std::move(res));
        }
    }
    // Whether at least n are available: reads at most n index entries, whatever the pool's size.
    const QuotaGate gate = quota_gate(others, r.now, [&](const std::string& prefix, std::int64_t n) {
        if (!is_valid_utf8(prefix)) return n <= 0;
        return tx.exec_prepared1(stmt::kAvailableAtMost, prefix, n)[0].as<std::int64_t>() >= n;
    });
    const std::string held_back = array_of(gate.blocked_prefixes);
    const UnixSeconds expires = r.lease.expires_at(r.now);
    const int limit = std::max(1, r.max_per_participant);
    pqxx::result rows;
    std::optional<std::string> upper;
    if (!gate.blocked_all) {
        // Without a prefix there is no bound either: allocate_quota_from from '', every name.
        if ((upper = utf8_prefix_upper_bound(r.name_prefix))) {
            rows = tx.exec_prepared(upper->empty() ? stmt::kAllocateQuotaFrom : stmt::kAllocateQuotaRange,
                                    r.participant_id, r.track_name, r.idempotency_key, r.now, expires, limit,
                                    r.name_prefix, *upper, held_back);
        }
    }
    if (!rows.empty() && rows[0][0].as<bool>()) {
        Sandbox taken = read_sandbox(rows[0], kAfterTaken);
        if (const auto id = reservation_to_charge(own, taken.name, r.now)) {
            tx.exec_prepared(stmt::kChargeReservation, *id);
        }
        tx.commit();
        return {AllocateOutcome::allocated, std::move(taken)};
    }
    // Nothing taken: the holdings decide, or the rules held everything back, or the pool is
    // empty (in the prefix's part).
    std::vector<Sandbox> held;
    for (const auto& row : tx.exec_prepared(stmt::kHoldings, r.participant_id))
        held.push_back(read_sandbox(row, kAfterTaken));
    if (auto answer = answer_from_holdings(held, r)) return std::move(*answer);
    if (count_available_in(tx, r.name_prefix) > 0)
        return {AllocateOutcome::reserved_for_others, std::nullopt};
    if (r.name_prefix.empty()) return {AllocateOutcome::pool_empty, std::nullopt};
    const std::string bound = upper.value_or(utf8_prefix_upper_bound(r.name_prefix).value_or(""));
    if (!is_valid_utf8(r.name_prefix)) return {AllocateOutcome::no_prefix_match, std::nullopt};
    const bool known = tx.exec_prepared1(bound.empty() ? stmt::kPrefixKnownFrom : stmt::kPrefixKnownRange,
                                         r.name_prefix, bound)[0]
                           .as<bool>();
    return {known ? AllocateOutcome::pool_empty : AllocateOutcome::no_prefix_match, std::nullopt};
}

std::int64_t count_available(pqxx::connection& conn, const std::string& name_prefix) {
    pqxx::nontransaction tx(conn);
    return count_available_in(tx, name_prefix);
}

void create_reservation(pqxx::connection& conn, const Reservation& r) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared(stmt::kInsertReservation, r.id, r.track, r.name_prefix, r.count, r.starts_at, r.ends_at,
                     r.created_at);
}

std::vector<Reservation> list_reservations(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    std::vector<Reservation> out;
    for (const auto& row : tx.exec_prepared(stmt::kListReservations)) out.push_back(read_reservation(row));
    return out;
}

std::optional<Reservation> get_reservation(pqxx::connection& conn, const std::string& id) {
    pqxx::nontransaction tx(conn);
    const auto rows = tx.exec_prepared(stmt::kGetReservation, id);
    if (rows.empty()) return std::nullopt;
    return read_reservation(rows[0]);
}

bool cancel_reservation(pqxx::connection& conn, const std::string& id) {
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared(stmt::kDeleteReservation, id).affected_rows() == 1;
}

void set_track_limit(pqxx::connection& conn, const std::string& track, std::int64_t max_active) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared(stmt::kSetTrackLimit, track, max_active);
}

bool remove_track_limit(pqxx::connection& conn, const std::string& track) {
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared(stmt::kDeleteTrackLimit, track).affected_rows() == 1;
}

std::vector<TrackLimit> list_track_limits(pqxx::connection& conn, UnixSeconds now) {
    pqxx::nontransaction tx(conn);
    std::vector<TrackLimit> limits;
    for (const auto& row : tx.exec_prepared(stmt::kListTrackLimits, now)) {
        limits.push_back({row[0].as<std::string>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>()});
    }
    return limits;
}

}  // namespace broker::pg
