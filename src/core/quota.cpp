// Reservation and track-limit arithmetic: see quota.hpp.
#include "core/quota.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace broker {

std::int64_t Reservation::outstanding_at(UnixSeconds now) const {
    return active_at(now) ? std::max<std::int64_t>(0, count - used) : 0;
}

std::int64_t Reservation::pending_at(UnixSeconds now) const {
    return now < ends_at ? std::max<std::int64_t>(0, count - used) : 0;
}

QuotaGate quota_gate(std::span<const Reservation> others, UnixSeconds now,
                     const HasAvailable& has_available) {
    QuotaGate gate;
    std::set<std::string> prefixes{""};
    for (const auto& r : others)
        if (r.outstanding_at(now) > 0) prefixes.insert(r.name_prefix);
    for (const auto& prefix : prefixes) {
        std::int64_t held = 0;
        for (const auto& r : others)
            if (name_has_prefix(r.name_prefix, prefix)) held += r.outstanding_at(now);
        if (held == 0) continue;
        if (!has_available(prefix, held + 1)) {
            if (prefix.empty()) {
                gate.blocked_all = true;
                gate.blocked_prefixes.clear();
                return gate;
            }
            gate.blocked_prefixes.push_back(prefix);
        }
    }
    return gate;
}

std::optional<std::string> reservation_to_charge(std::span<const Reservation> own, std::string_view name,
                                                 UnixSeconds now) {
    const Reservation* best = nullptr;
    for (const auto& r : own) {
        if (r.outstanding_at(now) <= 0 || !name_has_prefix(name, r.name_prefix)) continue;
        if (!best || r.ends_at < best->ends_at || (r.ends_at == best->ends_at && r.id < best->id)) best = &r;
    }
    if (!best) return std::nullopt;
    return best->id;
}

std::vector<std::int64_t> reservation_shortfalls(
    std::span<const Reservation> reservations, UnixSeconds now,
    const std::function<std::int64_t(const std::string&)>& available) {
    std::map<std::string, std::int64_t> counted;
    const auto available_for = [&](const std::string& prefix) {
        auto it = counted.find(prefix);
        if (it == counted.end()) it = counted.emplace(prefix, available(prefix)).first;
        return it->second;
    };
    std::vector<std::int64_t> shortfalls;
    shortfalls.reserve(reservations.size());
    for (const auto& r : reservations) {
        const std::int64_t pending = r.pending_at(now);
        if (pending == 0) {
            shortfalls.push_back(0);
            continue;
        }
        std::int64_t taken_by_others = 0;
        for (const auto& other : reservations) {
            if (&other == &r || other.ends_at <= r.starts_at || r.ends_at <= other.starts_at) continue;
            if (!name_has_prefix(other.name_prefix, r.name_prefix) &&
                !name_has_prefix(r.name_prefix, other.name_prefix))
                continue;
            taken_by_others += other.pending_at(now);
        }
        const std::int64_t cover = std::max<std::int64_t>(0, available_for(r.name_prefix) - taken_by_others);
        shortfalls.push_back(std::max<std::int64_t>(0, pending - cover));
    }
    return shortfalls;
}

}  // namespace broker
