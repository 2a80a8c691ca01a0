// The table's item kinds and attribute mapping: see dynamo_items.hpp.
#include "store/dynamodb/dynamo_items.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/errors.hpp"
#include "core/utf8.hpp"

namespace broker::ddb {

std::string sandbox_pk(std::string_view id) {
    return std::string(kSandboxPrefix) + std::string(id);
}
std::string participant_pk(std::string_view p) {
    return "PART#" + std::string(p);
}
std::string deletion_pk(std::string_view id) {
    return "DEL#" + std::string(id);
}
std::string history_pk(std::string_view id) {
    return "HIST#" + std::string(id);
}
std::string job_runs_pk(std::string_view job) {
    return "BROKER#JOBRUNS#" + std::string(job);
}

std::string padded(std::int64_t value, int width) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%0*lld", width, static_cast<long long>(value));
    return buffer;
}

Item key_of(std::string_view pk, std::string_view sk) {
    return {{"PK", S(pk)}, {"SK", S(sk)}};
}

nlohmann::json S(std::string_view value) {
    return {{"S", std::string(value)}};
}
nlohmann::json N(std::int64_t value) {
    return {{"N", std::to_string(value)}};
}
nlohmann::json N_decimal(double value) {
    if (std::floor(value) == value) return N(static_cast<std::int64_t>(value));
    char buffer[64];
    // 12 significant digits: a duration in hours of up to a million keeps whole seconds
    // (expires_at is derived from it), so a lease extended by one second reads back as such.
    std::snprintf(buffer, sizeof buffer, "%.12g", value);
    return {{"N", std::string(buffer)}};
}
nlohmann::json BOOL(bool value) {
    return {{"BOOL", value}};
}

std::optional<std::string> get_s(const Item& item, const char* name) {
    const auto it = item.find(name);
    if (it == item.end() || !it->is_object()) return std::nullopt;
    const auto s = it->find("S");
    if (s == it->end() || !s->is_string()) return std::nullopt;
    return s->get<std::string>();
}

std::optional<double> get_decimal(const Item& item, const char* name) {
    const auto it = item.find(name);
    if (it == item.end() || !it->is_object()) return std::nullopt;
    const auto n = it->find("N");
    if (n == it->end() || !n->is_string()) return std::nullopt;
    const std::string text = n->get<std::string>();
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) return std::nullopt;
    return value;
}

std::optional<std::int64_t> get_n(const Item& item, const char* name) {
    const auto it = item.find(name);
    if (it == item.end() || !it->is_object()) return std::nullopt;
    const auto n = it->find("N");
    if (n == it->end() || !n->is_string()) return std::nullopt;
    const std::string text = n->get<std::string>();
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && ptr == text.data() + text.size()) return value;
    // A decimal written by another client ("1700000000.0"): whole seconds.
    if (auto d = get_decimal(item, name)) return static_cast<std::int64_t>(*d);
    return std::nullopt;
}

std::optional<bool> get_bool(const Item& item, const char* name) {
    const auto it = item.find(name);
    if (it == item.end() || !it->is_object()) return std::nullopt;
    const auto b = it->find("BOOL");
    if (b == it->end() || !b->is_boolean()) return std::nullopt;
    return b->get<bool>();
}

std::string s_or(const Item& item, const char* name, std::string fallback) {
    auto v = get_s(item, name);
    return v ? std::move(*v) : std::move(fallback);
}

std::int64_t n_or(const Item& item, const char* name, std::int64_t fallback) {
    return get_n(item, name).value_or(fallback);
}

Sandbox sandbox_from_item(const Item& item) {
    Sandbox s;
    s.sandbox_id = s_or(item, "sandbox_id");
    if (s.sandbox_id.empty()) {
        const std::string pk = s_or(item, "PK");
        if (pk.starts_with(kSandboxPrefix)) s.sandbox_id = pk.substr(kSandboxPrefix.size());
    }
    s.name = s_or(item, "name");
    s.external_id = s_or(item, "external_id");
    s.sfdc_account_id = s_or(item, "sfdc_account_id");
    const std::string status = s_or(item, "status");
    const auto parsed = parse_status(status);
    if (!parsed)
        throw StoreUnavailable("DynamoDB item " + s.sandbox_id + " has unknown status '" + status + "'");
    s.status = *parsed;
    s.allocated_to_track = s_or(item, "allocated_to_track");
    s.track_name = s_or(item, "track_name");
    s.idempotency_key = s_or(item, "idempotency_key");
    const std::int64_t allocated_at = n_or(item, "allocated_at");
    if (allocated_at > 0) {
        s.allocated_at = allocated_at;
        const double hours = get_decimal(item, "lab_duration_hours").value_or(48);
        s.expires_at = allocated_at + static_cast<std::int64_t>(std::llround(hours * 3600));
    }
    s.deletion_requested_at = get_n(item, "deletion_requested_at");
    s.deletion_retry_count = static_cast<int>(n_or(item, "deletion_retry_count"));
    s.created_at = n_or(item, "created_at");
    s.updated_at = n_or(item, "updated_at", s.created_at);
    s.version = 1 + (s.allocated_at ? 1 : 0) + (s.deletion_requested_at ? 1 : 0) + s.deletion_retry_count +
                (s.status == SandboxStatus::deleted ? 1 : 0);
    return s;
}

Item sandbox_item(const Sandbox& s, double lab_duration_hours) {
    Item item = key_of(sandbox_pk(s.sandbox_id), kSandboxSort);
    item["sandbox_id"] = S(s.sandbox_id);
    item["name"] = S(s.name);
    item["external_id"] = S(s.external_id);
    item["status"] = S(to_string(s.status));
    double hours = lab_duration_hours;
    if (s.allocated_at && s.expires_at && *s.expires_at > *s.allocated_at) {
        hours = static_cast<double>(*s.expires_at - *s.allocated_at) / 3600.0;
    }
    item["lab_duration_hours"] = N_decimal(hours);
    item["deletion_retry_count"] = N(s.deletion_retry_count);
    item["allocated_at"] = N(s.allocated_at.value_or(0));
    if (!s.allocated_to_track.empty()) item["allocated_to_track"] = S(s.allocated_to_track);
    if (!s.track_name.empty()) item["track_name"] = S(s.track_name);
    if (!s.idempotency_key.empty()) item["idempotency_key"] = S(s.idempotency_key);
    if (!s.sfdc_account_id.empty()) item["sfdc_account_id"] = S(s.sfdc_account_id);
    if (s.deletion_requested_at) item["deletion_requested_at"] = N(*s.deletion_requested_at);
    item["created_at"] = N(s.created_at);
    item["updated_at"] = N(s.updated_at);
    if (s.status == SandboxStatus::deleted) item["deleted_at"] = N(s.updated_at);
    return item;
}

Item event_item(const SandboxEvent& e, std::optional<std::size_t> copy_position) {
    std::string sort = "EV#" + padded(e.at, 12) + "#" + padded(e.id);
    if (copy_position) sort += "#C" + padded(static_cast<std::int64_t>(*copy_position), 6);
    Item item = key_of(history_pk(e.sandbox_id), sort);
    item["event_id"] = N(e.id);
    item["sandbox_id"] = S(e.sandbox_id);
    item["at"] = N(e.at);
    if (e.from) item["from_status"] = S(to_string(*e.from));
    if (e.to) item["to_status"] = S(to_string(*e.to));
    item["actor"] = S(e.actor);
    item["reason"] = S(e.reason);
    return item;
}

SandboxEvent event_from_item(const Item& item) {
    SandboxEvent e;
    e.id = n_or(item, "event_id");
    e.sandbox_id = s_or(item, "sandbox_id");
    e.at = n_or(item, "at");
    if (auto f = get_s(item, "from_status")) e.from = parse_status(*f);
    if (auto t = get_s(item, "to_status")) e.to = parse_status(*t);
    e.actor = s_or(item, "actor");
    e.reason = s_or(item, "reason");
    return e;
}

ListPage first_page_by_id(std::vector<Sandbox> rows, int limit) {
    std::sort(rows.begin(), rows.end(),
              [](const Sandbox& a, const Sandbox& b) { return a.sandbox_id < b.sandbox_id; });
    ListPage page;
    for (auto& s : rows) {
        if (static_cast<int>(page.items.size()) == limit) {
            page.next_after = page.items.back().sandbox_id;
            break;
        }
        page.items.push_back(std::move(s));
    }
    return page;
}

}  // namespace broker::ddb
