// The SQLite store's reservations and track limits: see quota_ops.hpp. The statements are in
// sql/quota.sql.
#include "store/sqlite/quota_ops.hpp"

#include "store/sqlite/sandbox_sql.hpp"

namespace broker::sqlite {
namespace {

Reservation read_reservation(const Query& q) {
    Reservation r;
    r.id = q.text(0);
    r.track = q.text(1);
    r.name_prefix = q.text(2);
    r.count = q.integer(3);
    r.used = q.integer(4);
    r.starts_at = q.integer(5);
    r.ends_at = q.integer(6);
    r.created_at = q.integer(7);
    return r;
}

std::vector<Reservation> read_reservations(Query& q) {
    std::vector<Reservation> out;
    while (q.step()) out.push_back(read_reservation(q));
    return out;
}

std::int64_t active_of_track(Connection& conn, const std::string& track, UnixSeconds now) {
    auto q = conn.query(sql::kActiveOfTrack);
    q.bind(1, track).bind(2, now);
    q.step();
    return q.integer(0);
}

}  // namespace

bool QuotaCache::applies(Connection& conn, const AllocateRequest& request) {
    if (!snapshot) {
        Snapshot s;
        {
            auto q = conn.query(sql::kAllReservations);
            s.reservations = read_reservations(q);
        }
        auto q = conn.query(sql::kLimitedTracks);
        while (q.step()) s.limited_tracks.insert(q.text(0));
        snapshot = std::move(s);
    }
    if (!request.track_name.empty() && snapshot->limited_tracks.count(request.track_name)) return true;
    for (const auto& r : snapshot->reservations)
        if (r.active_at(request.now)) return true;
    return false;
}

QuotaPlan plan_quota(Connection& conn, const AllocateRequest& r) {
    QuotaPlan plan;
    if (!r.track_name.empty()) {
        auto q = conn.query(sql::kTrackLimit);
        q.bind(1, r.track_name);
        if (q.step()) {
            const std::int64_t max_active = q.integer(0);
            if (active_of_track(conn, r.track_name, r.now) >= max_active) {
                plan.refusal = AllocateOutcome::track_limit_reached;
                return plan;
            }
        }
    }
    std::vector<Reservation> others;
    {
        auto q = conn.query(sql::kActiveReservations);
        q.bind(1, r.now);
        for (auto& res : read_reservations(q)) {
            if (!r.track_name.empty() && res.track == r.track_name) {
                plan.own.push_back(std::move(res));
            } else {
                others.push_back(std::move(res));
            }
        }
    }
    // Whether at least n are available: reads at most n index entries, whatever the pool's size.
    const QuotaGate gate = quota_gate(others, r.now, [&](const std::string& prefix, std::int64_t n) {
        const std::string upper = prefix_upper_bound(prefix);
        auto q = conn.query(prefix.empty()  ? sql::kAvailableAtMost
                            : upper.empty() ? sql::kAvailableAtMostFrom
                                            : sql::kAvailableAtMostRange);
        if (!prefix.empty()) q.bind(1, prefix);
        if (!upper.empty()) q.bind(2, upper);
        q.bind(3, n);
        q.step();
        return q.integer(0) >= n;
    });
    plan.blocked_all = gate.blocked_all;
    plan.blocked_prefixes = gate.blocked_prefixes;
    return plan;
}

void charge_reservation(Connection& conn, const std::vector<Reservation>& own, const std::string& name,
                        UnixSeconds now) {
    const auto id = reservation_to_charge(own, name, now);
    if (!id) return;
    auto q = conn.query(sql::kChargeReservation);
    q.bind(1, *id);
    q.run();
}

std::int64_t count_available(Connection& conn, const std::string& name_prefix) {
    if (name_prefix.empty()) {
        auto q = conn.query(sql::kCountAvailable);
        q.step();
        return q.integer(0);
    }
    const std::string upper = prefix_upper_bound(name_prefix);
    auto q = conn.query(upper.empty() ? sql::kCountAvailableFrom : sql::kCountAvailableRange);
    q.bind(1, name_prefix);
    if (!upper.empty()) q.bind(2, upper);
    q.step();
    return q.integer(0);
}

void create_reservation(Connection& conn, const Reservation& r) {
    auto q = conn.query(sql::kInsertReservation);
    q.bind(1, r.id).bind(2, r.track).bind(3, r.name_prefix).bind(4, r.count);
    q.bind(5, r.starts_at).bind(6, r.ends_at).bind(7, r.created_at);
    q.run();
}

std::vector<Reservation> list_reservations(Connection& conn) {
    auto q = conn.query(sql::kListReservations);
    return read_reservations(q);
}

std::optional<Reservation> get_reservation(Connection& conn, const std::string& id) {
    auto q = conn.query(sql::kGetReservation);
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    return read_reservation(q);
}

bool cancel_reservation(Connection& conn, const std::string& id) {
    auto q = conn.query(sql::kDeleteReservation);
    q.bind(1, id);
    q.run();
    return conn.changes() == 1;
}

void set_track_limit(Connection& conn, const std::string& track, std::int64_t max_active) {
    auto q = conn.query(sql::kSetTrackLimit);
    q.bind(1, track).bind(2, max_active);
    q.run();
}

bool remove_track_limit(Connection& conn, const std::string& track) {
    auto q = conn.query(sql::kDeleteTrackLimit);
    q.bind(1, track);
    q.run();
    return conn.changes() == 1;
}

std::vector<TrackLimit> list_track_limits(Connection& conn, UnixSeconds now) {
    std::vector<TrackLimit> limits;
    {
        auto q = conn.query(sql::kListTrackLimits);
        while (q.step()) limits.push_back({q.text(0), q.integer(1), 0});
    }
    for (auto& limit : limits) limit.active = active_of_track(conn, limit.track, now);
    return limits;
}

}  // namespace broker::sqlite
