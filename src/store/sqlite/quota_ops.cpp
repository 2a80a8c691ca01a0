// The SQLite store's reservations and track limits: see quota_ops.hpp.
#include "store/sqlite/quota_ops.hpp"

#include "store/sqlite/sandbox_sql.hpp"

namespace broker::sqlite {
namespace {

#define RESERVATION_COLUMNS "id, track, name_prefix, count, used, starts_at, ends_at, created_at"

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
    auto q = conn.query(
        "SELECT count(*) FROM sandboxes WHERE status = 'allocated' AND track_name = ?1 AND expires_at > ?2");
    q.bind(1, track).bind(2, now);
    q.step();
    return q.integer(0);
}

}  // namespace

bool QuotaCache::applies(Connection& conn, const AllocateRequest& request) {
    if (!snapshot) {
        Snapshot s;
        {
            auto q = conn.query("SELECT " RESERVATION_COLUMNS " FROM reservations");
            s.reservations = read_reservations(q);
        }
        auto q = conn.query("SELECT track FROM track_limits");
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
        auto q = conn.query("SELECT max_active FROM track_limits WHERE track = ?1");
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
        auto q = conn.query("SELECT " RESERVATION_COLUMNS
                            " FROM reservations WHERE starts_at <= ?1 AND ends_at > ?1 AND used < count");
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
        auto q = conn.query(
            prefix.empty()
                ? "SELECT count(*) FROM (SELECT 1 FROM sandboxes WHERE status = 'available' LIMIT ?3)"
            : upper.empty() ? "SELECT count(*) FROM (SELECT 1 FROM sandboxes WHERE status = 'available' "
                              "AND name >= ?1 LIMIT ?3)"
                            : "SELECT count(*) FROM (SELECT 1 FROM sandboxes WHERE status = 'available' "
                              "AND name >= ?1 AND name < ?2 LIMIT ?3)");
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
    auto q = conn.query("UPDATE reservations SET used = used + 1 WHERE id = ?1 AND used < count");
    q.bind(1, *id);
    q.run();
}

std::int64_t count_available(Connection& conn, const std::string& name_prefix) {
    if (name_prefix.empty()) {
        auto q = conn.query("SELECT count(*) FROM sandboxes WHERE status = 'available'");
        q.step();
        return q.integer(0);
    }
    const std::string upper = prefix_upper_bound(name_prefix);
    auto q =
        conn.query(upper.empty() ? "SELECT count(*) FROM sandboxes WHERE status = 'available' AND name >= ?1"
                                 : "SELECT count(*) FROM sandboxes WHERE status = 'available' AND name >= ?1 "
                                   "AND name < ?2");
    q.bind(1, name_prefix);
    if (!upper.empty()) q.bind(2, upper);
    q.step();
    return q.integer(0);
}

void create_reservation(Connection& conn, const Reservation& r) {
    auto q = conn.query("INSERT INTO reservations (" RESERVATION_COLUMNS
                        ") VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)");
    q.bind(1, r.id).bind(2, r.track).bind(3, r.name_prefix).bind(4, r.count);
    q.bind(5, r.starts_at).bind(6, r.ends_at).bind(7, r.created_at);
    q.run();
}

std::vector<Reservation> list_reservations(Connection& conn) {
    auto q = conn.query("SELECT " RESERVATION_COLUMNS " FROM reservations ORDER BY starts_at, id");
    return read_reservations(q);
}

std::optional<Reservation> get_reservation(Connection& conn, const std::string& id) {
    auto q = conn.query("SELECT " RESERVATION_COLUMNS " FROM reservations WHERE id = ?1");
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    return read_reservation(q);
}

bool cancel_reservation(Connection& conn, const std::string& id) {
    auto q = conn.query("DELETE FROM reservations WHERE id = ?1");
    q.bind(1, id);
    q.run();
    return conn.changes() == 1;
}

void set_track_limit(Connection& conn, const std::string& track, std::int64_t max_active) {
    auto q = conn.query(
        "INSERT INTO track_limits (track, max_active) VALUES (?1, ?2) "
        "ON CONFLICT (track) DO UPDATE SET max_active = excluded.max_active");
    q.bind(1, track).bind(2, max_active);
    q.run();
}

bool remove_track_limit(Connection& conn, const std::string& track) {
    auto q = conn.query("DELETE FROM track_limits WHERE track = ?1");
    q.bind(1, track);
    q.run();
    return conn.changes() == 1;
}

std::vector<TrackLimit> list_track_limits(Connection& conn, UnixSeconds now) {
    std::vector<TrackLimit> limits;
    {
        auto q = conn.query("SELECT track, max_active FROM track_limits ORDER BY track");
        while (q.step()) limits.push_back({q.text(0), q.integer(1), 0});
    }
    for (auto& limit : limits) limit.active = active_of_track(conn, limit.track, now);
    return limits;
}

#undef RESERVATION_COLUMNS

}  // namespace broker::sqlite
