// The outbox's shared rules: see outbox.hpp.
#include "store/outbox.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

namespace broker {
namespace {

// The expiry job's actor in every store's history.
constexpr std::string_view kExpiryActor = "auto_expiry";

nlohmann::json optional_time(const std::optional<UnixSeconds>& at) {
    return at ? nlohmann::json(iso8601_utc(*at)) : nlohmann::json(nullptr);
}

}  // namespace

std::optional<std::string_view> transition_event_type(std::optional<SandboxStatus> from,
                                                      std::optional<SandboxStatus> to,
                                                      std::string_view actor) {
    if (!to) return std::nullopt;
    switch (*to) {
        case SandboxStatus::available:
            // New, or seen again after being stale: the pool grew.
            if (!from || *from == SandboxStatus::stale) return kEventSynced;
            return std::nullopt;
        case SandboxStatus::allocated:
            return from == SandboxStatus::allocated ? kEventExtended : kEventAllocated;
        case SandboxStatus::pending_deletion:
            if (from == SandboxStatus::allocated)
                return actor == kExpiryActor ? kEventExpired : kEventReturned;
            return std::nullopt;
        case SandboxStatus::stale:
            return kEventStale;
        case SandboxStatus::deletion_failed:
            return kEventDeletionFailed;
        case SandboxStatus::deleted:
            return kEventDeleted;
    }
    return std::nullopt;
}

std::string transition_event_data(const Sandbox& row, std::optional<SandboxStatus> from,
                                  std::string_view actor, std::string_view reason) {
    nlohmann::json data = {
        {"id", row.sandbox_id},
        {"name", row.name},
        {"external_id", row.external_id},
        {"sfdc_account_id", row.sfdc_account_id},
        {"status", to_string(row.status)},
        {"previous_status", from ? nlohmann::json(to_string(*from)) : nlohmann::json(nullptr)},
        {"allocated_at", optional_time(row.allocated_at)},
        {"expires_at", optional_time(row.expires_at)},
        {"deletion_requested_at", optional_time(row.deletion_requested_at)},
        {"deletion_retry_count", row.deletion_retry_count},
        {"participant", row.allocated_to_track},
        {"track", row.track_name},
        {"actor", actor},
        {"reason", reason},
    };
    return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string event_payload(std::int64_t id, std::string_view type, UnixSeconds at,
                          std::string_view data_json) {
    std::string out = R"({"id":)";
    out += std::to_string(id);
    out += R"(,"type":)";
    out += nlohmann::json(type).dump();
    out += R"(,"time":")";
    out += iso8601_utc(at);
    out += R"(","data":)";
    out += data_json.empty() ? std::string_view("{}") : data_json;
    out += '}';
    return out;
}

std::string iso8601_utc(UnixSeconds at) {
    const std::time_t t = static_cast<std::time_t>(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
}

}  // namespace broker
