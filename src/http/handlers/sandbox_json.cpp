// A sandbox as JSON: see sandbox_json.hpp.
#include "http/handlers/sandbox_json.hpp"

namespace broker {

using nlohmann::json;

json time_or_null(const std::optional<UnixSeconds>& t) {
    return t ? json(*t) : json(nullptr);
}

json sandbox_json(const Sandbox& s) {
    return {
        {"sandbox_id", s.sandbox_id},
        {"name", s.name},
        {"external_id", s.external_id},
        {"sfdc_account_id", s.sfdc_account_id},
        {"status", to_string(s.status)},
        {"allocated_to_track", s.allocated_to_track},
        {"track_name", s.track_name},
        {"allocated_at", time_or_null(s.allocated_at)},
        {"expires_at", time_or_null(s.expires_at)},
        {"deletion_requested_at", time_or_null(s.deletion_requested_at)},
        {"deletion_retry_count", s.deletion_retry_count},
        {"created_at", s.created_at},
        {"updated_at", s.updated_at},
    };
}

}  // namespace broker
