// The PostgreSQL store's statements and row mapping: see pg_sql.hpp.
#include "store/postgres/pg_sql.hpp"

#include <stdexcept>

#include "core/errors.hpp"
#include "core/utf8.hpp"

namespace broker::pg {
namespace {

void prepare_all(pqxx::connection& conn) {
    for (const auto& q : sql::kAll) {
        // The dashboard's reads run as plain statements, planned for their filters each time.
        if (q.file == "dashboard.sql") continue;
        // Schema steps (`schema_` statements) run once, from the step list, never prepared.
        if (q.name.starts_with("schema_")) continue;
        conn.prepare(std::string(q.name), std::string(q.text));
    }
}

std::optional<std::int64_t> optional_integer(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

SandboxStatus status_of(const pqxx::field& f, const std::string& sandbox_id) {
    const std::string text = f.as<std::string>();
    auto parsed = parse_status(text);
    if (!parsed)
        throw StoreUnavailable("PostgreSQL row " + sandbox_id + " has unknown status '" + text + "'");
    return *parsed;
}

}  // namespace

void prepare_statements(pqxx::connection& conn) {
    prepare_all(conn);
}

Sandbox read_sandbox(const pqxx::row& row, int first_column) {
    const auto first = static_cast<pqxx::row::size_type>(first_column);
    bool same = row.size() >= first + kSandboxColumns.size();
    for (std::size_t i = 0; same && i < kSandboxColumns.size(); ++i) {
        same = kSandboxColumns[i] == row[first + static_cast<pqxx::row::size_type>(i)].name();
    }
    if (!same) {
        std::string got;
        for (const auto& field : row) got += std::string(got.empty() ? "" : ", ") + field.name();
        throw std::logic_error("PostgreSQL row has columns (" + got +
                               "), its reader reads the sandbox's from column " +
                               std::to_string(first_column));
    }
    const auto at = [&](int column) { return row[first + static_cast<pqxx::row::size_type>(column)]; };
    Sandbox s;
    s.sandbox_id = at(sandbox_column("sandbox_id")).as<std::string>();
    s.name = at(sandbox_column("name")).as<std::string>();
    s.external_id = at(sandbox_column("external_id")).as<std::string>();
    s.sfdc_account_id = at(sandbox_column("sfdc_account_id")).as<std::string>();
    s.status = status_of(at(sandbox_column("status")), s.sandbox_id);
    s.allocated_to_track = at(sandbox_column("allocated_to_track")).as<std::string>();
    s.track_name = at(sandbox_column("track_name")).as<std::string>();
    s.idempotency_key = at(sandbox_column("idempotency_key")).as<std::string>();
    s.allocated_at = optional_integer(at(sandbox_column("allocated_at")));
    s.expires_at = optional_integer(at(sandbox_column("expires_at")));
    s.deletion_requested_at = optional_integer(at(sandbox_column("deletion_requested_at")));
    s.deletion_retry_count = at(sandbox_column("deletion_retry_count")).as<int>();
    s.created_at = at(sandbox_column("created_at")).as<std::int64_t>();
    s.updated_at = at(sandbox_column("updated_at")).as<std::int64_t>();
    s.version = at(sandbox_column("version")).as<std::int64_t>();
    return s;
}

SandboxEvent read_event(const pqxx::row& row) {
    SandboxEvent e;
    e.id = row[0].as<std::int64_t>();
    e.sandbox_id = row[1].as<std::string>();
    e.at = row[2].as<std::int64_t>();
    if (!row[3].is_null()) e.from = status_of(row[3], e.sandbox_id);
    if (!row[4].is_null()) e.to = status_of(row[4], e.sandbox_id);
    e.actor = row[5].as<std::string>();
    e.reason = row[6].as<std::string>();
    return e;
}

std::optional<std::string> utf8_prefix_upper_bound(std::string_view prefix) {
    std::vector<char32_t> code_points;
    char32_t cp = 0;
    for (std::size_t i = 0; i < prefix.size();) {
        const std::size_t n = decode_utf8(prefix, i, cp);
        if (n == 0) return std::nullopt;
        code_points.push_back(cp);
        i += n;
    }
    while (!code_points.empty() && code_points.back() == 0x10FFFF) code_points.pop_back();
    if (code_points.empty()) return std::string();
    char32_t& last = code_points.back();
    last = last == 0xD7FF ? 0xE000 : last + 1;
    std::string upper;
    for (char32_t c : code_points) append_utf8(upper, c);
    return upper;
}

void append_array_element(std::string& out, std::string_view value) {
    out += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

}  // namespace broker::pg
