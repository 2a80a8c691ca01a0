// The outbox's shared rules: see outbox.hpp.
#include "store/outbox.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <chrono>
#include <iterator>

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

void append_integer(std::string& out, long long value) {
    const fmt::format_int text(value);
    out.append(text.data(), text.size());
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
    append_integer(out, row.deletion_retry_count);
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
    append_integer(out, id);
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
    // The civil calendar of <chrono>, not gmtime_r/strftime: no time zone lock, and no
    // intermediate string, on every event's time. The format is compiled (FMT_COMPILE): parsed
    // at run time it cost more than the calendar, three times in every event's data.
    using namespace std::chrono;
    const sys_seconds t{seconds{at}};
    const sys_days day = floor<days>(t);
    const year_month_day date{day};
    const hh_mm_ss time{t - day};
    fmt::format_to(std::back_inserter(out), FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z"),
                   static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                   static_cast<unsigned>(date.day()), time.hours().count(), time.minutes().count(),
                   time.seconds().count());
}

}  // namespace broker
