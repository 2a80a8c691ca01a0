// The outbox's shared rules: see outbox.hpp.
#include "store/outbox.hpp"

#include "core/json_text.hpp"

namespace broker {
namespace {

// The expiry job's actor in every store's history.
constexpr std::string_view kExpiryActor = "auto_expiry";

void append_optional_time(std::string& out, const std::optional<UnixSeconds>& at) {
    if (!at) {
        out += "null";
        return;
    }
    out += '"';
    append_iso8601_utc(out, *at);
    out += '"';
}

void append_digits(std::string& out, long long value, int width) {
    char buf[24];
    int n = 0;
    const bool negative = value < 0;
    unsigned long long v =
        negative ? 0ULL - static_cast<unsigned long long>(value) : static_cast<unsigned long long>(value);
    do {
        buf[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n < width) buf[n++] = '0';
    if (negative) out += '-';
    while (n > 0) out += buf[--n];
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
    std::string out;
    append_transition_event_data(out, row, from, actor, reason);
    return out;
}

void append_transition_event_data(std::string& out, const Sandbox& row, std::optional<SandboxStatus> from,
                                  std::string_view actor, std::string_view reason) {
    // Written straight into the text, on every change: the keys in byte order, as the JSON
    // tree this replaced wrote them (readers have seen that order since the first event).
    out += R"({"actor":)";
    append_json_string(out, actor);
    out += R"(,"allocated_at":)";
    append_optional_time(out, row.allocated_at);
    out += R"(,"deletion_requested_at":)";
    append_optional_time(out, row.deletion_requested_at);
    out += R"(,"deletion_retry_count":)";
    append_digits(out, row.deletion_retry_count, 1);
    out += R"(,"expires_at":)";
    append_optional_time(out, row.expires_at);
    out += R"(,"external_id":)";
    append_json_string(out, row.external_id);
    out += R"(,"id":)";
    append_json_string(out, row.sandbox_id);
    out += R"(,"name":)";
    append_json_string(out, row.name);
    out += R"(,"participant":)";
    append_json_string(out, row.allocated_to_track);
    out += R"(,"previous_status":)";
    if (from) {
        append_json_string(out, to_string(*from));
    } else {
        out += "null";
    }
    out += R"(,"reason":)";
    append_json_string(out, reason);
    out += R"(,"sfdc_account_id":)";
    append_json_string(out, row.sfdc_account_id);
    out += R"(,"status":)";
    append_json_string(out, to_string(row.status));
    out += R"(,"track":)";
    append_json_string(out, row.track_name);
    out += '}';
}

std::string event_payload(std::int64_t id, std::string_view type, UnixSeconds at,
                          std::string_view data_json) {
    std::string out;
    out.reserve(64 + type.size() + data_json.size());
    out += R"({"id":)";
    append_digits(out, id, 1);
    out += R"(,"type":)";
    append_json_string(out, type);
    out += R"(,"time":")";
    append_iso8601_utc(out, at);
    out += R"(","data":)";
    out += data_json.empty() ? std::string_view("{}") : data_json;
    out += '}';
    return out;
}

std::string iso8601_utc(UnixSeconds at) {
    std::string out;
    append_iso8601_utc(out, at);
    return out;
}

void append_iso8601_utc(std::string& out, UnixSeconds at) {
    // The civil date of a day count (Howard Hinnant's days_from_civil inverse), without the
    // C library's time zone lock: every event's time goes through here.
    const long long secs = static_cast<long long>(at);
    long long days = secs / 86400;
    long long rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    const long long z = days + 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const long long day = doy - (153 * mp + 2) / 5 + 1;
    const long long month = mp < 10 ? mp + 3 : mp - 9;
    const long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    append_digits(out, year, 4);
    out += '-';
    append_digits(out, month, 2);
    out += '-';
    append_digits(out, day, 2);
    out += 'T';
    append_digits(out, rem / 3600, 2);
    out += ':';
    append_digits(out, rem / 60 % 60, 2);
    out += ':';
    append_digits(out, rem % 60, 2);
    out += 'Z';
}

}  // namespace broker
