// `sandbox-broker admin …`: see admin_cli.hpp. One table of commands, each its flags and its
// run; one request helper (AdminClient) and one table printer (admin_output) under them all.
#include "app/admin_cli.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "app/admin_client.hpp"
#include "app/admin_output.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/sandbox.hpp"

namespace broker {

using ojson = nlohmann::ordered_json;

namespace {

struct Context {
    const AdminCliOptions& options;
    const AdminClient& client;
    std::ostream& out;
    std::ostream& err;
    std::istream& in;
    bool in_is_terminal;

    bool json() const { return options.output == "json"; }
};

const ojson& field(const ojson& object, const std::string& name) {
    return json_member(object, name);
}

std::string text(const ojson& object, const std::string& name) {
    const ojson& value = field(object, name);
    return value.is_string() ? value.get<std::string>() : std::string();
}

bool flag(const ojson& object, const std::string& name) {
    const ojson& value = field(object, name);
    return value.is_boolean() && value.get<bool>();
}

void print_json(std::ostream& out, const ojson& value) {
    out << value.dump(2, ' ', false, ojson::error_handler_t::replace) << '\n';
    out.flush();
}

// A query string from name/value pairs, leaving out the empty ones ("" or "?a=1&b=2").
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string query;
    for (const auto& [name, value] : params) {
        if (value.empty()) continue;
        query += (query.empty() ? "?" : "&") + name + "=" + url_escape(value);
    }
    return query;
}

// ---- sandboxes ----------------------------------------------------------------------------

// The list's filters that not every broker has: flag, query parameter.
struct OptionalFilter {
    std::string_view flag;
    std::string_view parameter;
    std::string AdminCliOptions::*value;
};
const OptionalFilter kOptionalFilters[] = {
    {"--track", "track", &AdminCliOptions::track},
    {"--prefix", "prefix", &AdminCliOptions::prefix},
    {"--query", "q", &AdminCliOptions::query},
};

// The list query (without cursor) for the filters given. A filter this broker does not
// document on GET …/admin/sandboxes is refused here rather than silently ignored there.
std::vector<std::pair<std::string, std::string>> list_params(const Context& ctx, int limit) {
    std::vector<std::pair<std::string, std::string>> params{{"status", ctx.options.status}};
    std::optional<std::set<std::string>> documented;  // asked for once, only when a filter is given
    for (const auto& filter : kOptionalFilters) {
        const std::string& value = ctx.options.*filter.value;
        if (value.empty()) continue;
        if (!documented) documented = ctx.client.documented_parameters("get", "/admin/sandboxes");
        if (!documented->contains(std::string(filter.parameter))) {
            throw AdminRefused(0, "FILTER_NOT_SUPPORTED",
                               "this broker's GET " + ctx.client.connection().base_path +
                                   "/admin/sandboxes has no `" + std::string(filter.parameter) +
                                   "` parameter (see its /openapi.json), so " + std::string(filter.flag) +
                                   " cannot be applied");
        }
        params.emplace_back(filter.parameter, value);
    }
    if (limit > 0) params.emplace_back("limit", std::to_string(limit));
    return params;
}

// Every page of the list from `cursor` on, each handed to `page` as it arrives (so memory stays
// flat however long the list), with a progress line on stderr per page.
std::int64_t for_each_page(const Context& ctx, const std::string& verb, int limit, std::string cursor,
                           const std::function<void(const ojson& sandboxes)>& page) {
    const auto params = list_params(ctx, limit);
    std::int64_t seen = 0;
    for (int pages = 1;; ++pages) {
        auto with_cursor = params;
        with_cursor.emplace_back("cursor", cursor);
        const ojson answer = ctx.client.get("/admin/sandboxes" + query_string(with_cursor));
        const ojson& items = answer.at("sandboxes");
        page(items);
        seen += static_cast<std::int64_t>(items.size());
        const ojson& next = field(answer, "next_cursor");
        const bool more = next.is_string() && !next.get<std::string>().empty();
        ctx.err << verb << ": " << seen << " sandboxes, " << pages << (pages == 1 ? " page" : " pages")
                << (more ? "…" : ", done") << std::endl;
        if (!more) break;
        cursor = next.get<std::string>();
    }
    return seen;
}

const std::vector<std::string> kListColumns = {
    "sandbox_id", "name", "status", "allocated_to_track", "track_name", "allocated_at", "expires_at"};
const TableRow kListHeaders = {"ID", "NAME", "STATUS", "PARTICIPANT", "TRACK", "ALLOCATED", "EXPIRES"};

TableRow sandbox_row(const ojson& sandbox) {
    TableRow row;
    for (const auto& column : kListColumns)
        row.push_back(cell(field(sandbox, column), is_time_field(column)));
    return row;
}

int list_command(Context& ctx) {
    const AdminCliOptions& o = ctx.options;
    if (!o.all) {
        auto params = list_params(ctx, o.limit);
        params.emplace_back("cursor", o.cursor);
        const ojson page = ctx.client.get("/admin/sandboxes" + query_string(params));
        if (ctx.json()) {
            print_json(ctx.out, page);
            return 0;
        }
        std::vector<TableRow> rows;
        for (const auto& s : page.at("sandboxes")) rows.push_back(sandbox_row(s));
        print_table(ctx.out, kListHeaders, rows);
        const ojson& next = field(page, "next_cursor");
        if (next.is_string())
            ctx.err << "more: --cursor " << next.get<std::string>() << " (or --all)" << std::endl;
        return 0;
    }
    if (ctx.json()) {
        // The pages as one answer of the list's shape, written as they arrive.
        ctx.out << "{\"sandboxes\": [";
        bool first = true;
        const auto count = for_each_page(ctx, "list", o.limit, o.cursor, [&](const ojson& items) {
            for (const auto& s : items) {
                ctx.out << (first ? "\n  " : ",\n  ")
                        << s.dump(-1, ' ', false, ojson::error_handler_t::replace);
                first = false;
            }
            ctx.out.flush();
        });
        ctx.out << (first ? "" : "\n") << "], \"count\": " << count << ", \"next_cursor\": null}\n";
        ctx.out.flush();
        return 0;
    }
    std::vector<TableRow> rows;
    for_each_page(ctx, "list", o.limit, o.cursor, [&](const ojson& items) {
        for (const auto& s : items) rows.push_back(sandbox_row(s));
    });
    print_table(ctx.out, kListHeaders, rows);
    return 0;
}

int show_command(Context& ctx) {
    const ojson sandbox = ctx.client.get("/admin/sandboxes/" + url_escape(ctx.options.id));
    if (ctx.json()) {
        print_json(ctx.out, sandbox);
        return 0;
    }
    std::vector<TableRow> fields;
    for (const auto& [name, value] : sandbox.items()) {
        if (name != "history") fields.push_back({name, cell(value, is_time_field(name))});
    }
    print_table(ctx.out, {"FIELD", "VALUE"}, fields);
    std::vector<TableRow> history;
    for (const auto& e : field(sandbox, "history")) {
        history.push_back({cell(field(e, "at"), true), cell(field(e, "from")), cell(field(e, "to")),
                           cell(field(e, "actor")), cell(field(e, "reason"))});
    }
    ctx.out << '\n';
    print_table(ctx.out, {"AT", "FROM", "TO", "ACTOR", "REASON"}, history);
    return 0;
}

int stats_command(Context& ctx) {
    const ojson stats = ctx.client.get("/admin/stats");
    if (ctx.json()) {
        print_json(ctx.out, stats);
        return 0;
    }
    // The statuses in their lifecycle's order, then whatever else the broker counts, total last.
    std::vector<std::string> order;
    for (const auto status : kAllStatuses) order.emplace_back(to_string(status));
    for (const auto& [name, value] : stats.items()) {
        if (name != "total" && std::find(order.begin(), order.end(), name) == order.end())
            order.push_back(name);
    }
    order.emplace_back("total");
    std::vector<TableRow> rows;
    for (const auto& name : order) {
        if (stats.contains(name)) rows.push_back({name, cell(stats[name])});
    }
    print_table(ctx.out, {"STATUS", "COUNT"}, rows);
    return 0;
}

// ---- jobs ---------------------------------------------------------------------------------

void print_jobs(std::ostream& out, const ojson& jobs) {
    std::vector<TableRow> rows;
    for (const auto& j : jobs) {
        const ojson& holder = field(j, "lease_holder");
        rows.push_back({cell(field(j, "name")), cell(field(j, "interval_sec")) + "s",
                        cell(field(j, "paused")), holder.is_string() ? "on " + cell(holder) : "no",
                        cell(field(j, "last_started_at"), true), cell(field(j, "last_ok")),
                        cell(field(j, "next_run_at"), true)});
    }
    print_table(out, {"JOB", "INTERVAL", "PAUSED", "RUNNING", "LAST STARTED", "LAST OK", "NEXT RUN"}, rows);
}

int jobs_command(Context& ctx) {
    const ojson answer = ctx.client.get("/admin/jobs");
    if (ctx.json()) {
        print_json(ctx.out, answer);
        return 0;
    }
    print_jobs(ctx.out, answer.at("jobs"));
    return 0;
}

int set_paused_command(Context& ctx, const std::string& verb) {
    const ojson job = ctx.client.call("POST", "/admin/jobs/" + url_escape(ctx.options.job) + "/" + verb).body;
    if (ctx.json()) {
        print_json(ctx.out, job);
        return 0;
    }
    print_jobs(ctx.out, ojson::array({job}));
    return 0;
}

// "listed 40, inserted 12" of a counts object; "" when there are none.
std::string counts_text(const ojson& counts) {
    std::string text;
    if (!counts.is_object()) return text;
    for (const auto& [name, value] : counts.items())
        text += (text.empty() ? "" : ", ") + name + " " + cell(value);
    return text;
}

// A job run's result (sync, cleanup, auto-delete-stale, ...) for people; false when it failed.
bool print_result(std::ostream& out, const std::string& heading, const ojson& result) {
    const bool ok = flag(result, "ok");
    const ojson& ms = field(result, "duration_ms");
    out << heading << ": " << (ok ? "ok" : "FAILED") << (ms.is_number() ? " in " + cell(ms) + " ms" : "");
    if (flag(result, "stopped_early"))
        out << ", stopped early (" << cell(field(result, "stop_reason")) << ")";
    out << '\n';
    std::vector<TableRow> rows;
    for (const auto& [name, value] : field(result, "counts").items()) rows.push_back({name, cell(value)});
    if (!rows.empty()) print_table(out, {"COUNT", "VALUE"}, rows);
    for (const auto& e : field(result, "errors")) out << "error: " << cell(e) << '\n';
    out.flush();
    return ok;
}

int run_command(Context& ctx) {
    const std::string job = url_escape(ctx.options.job);
    AdminAnswer answer = ctx.client.call("POST", "/admin/jobs/" + job + "/run");
    ojson run = std::move(answer.body);
    const std::string id = cell(field(run, "run_id"));
    const std::string status_url =
        field(run, "status_url").is_string()
            ? field(run, "status_url").get<std::string>()
            : ctx.client.connection().base_path + "/admin/jobs/" + job + "/runs/" + id;
    const std::string name = ctx.options.job + " run " + id;
    std::string shown;
    // Short looks at first (most runs are quick), then one a second.
    std::chrono::milliseconds pause(100);
    while (text(run, "status") != "finished") {
        std::string line = name + ": " + text(run, "status");
        if (const ojson& holder = field(run, "holder"); holder.is_string()) line += " on " + cell(holder);
        if (const std::string progress = counts_text(field(run, "progress")); !progress.empty()) {
            line += " (" + progress + ")";
        }
        if (line != shown) ctx.err << line << std::endl;
        shown = line;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(1000));
        run = ctx.client.call_absolute("GET", status_url).body;
    }
    const bool ok = flag(run, "ok");
    if (ctx.json()) {
        print_json(ctx.out, run);
    } else {
        print_result(ctx.out, name, field(run, "result"));
    }
    return ok ? 0 : kAdminExitRefused;
}

// ---- store-only removals --------------------------------------------------------------------

int bulk_delete_command(Context& ctx) {
    const std::string& status = ctx.options.status;
    if (!ctx.options.yes) {
        if (!ctx.in_is_terminal) {
            ctx.err
                << "sandbox-broker admin: bulk-delete removes sandboxes from the store; with no terminal to "
                   "confirm on, give --yes"
                << std::endl;
            return kAdminExitUsage;
        }
        const ojson stats = ctx.client.get("/admin/stats");
        const std::string how_many = stats.contains(status) ? cell(stats[status]) : "every";
        ctx.err << "Remove " << how_many << " sandboxes in status " << status << " from the store of "
                << ctx.client.connection().url
                << " (the provider is not called)? Type yes to go on: " << std::flush;
        std::string reply;
        std::getline(ctx.in, reply);
        if (reply != "yes") {
            ctx.err << "not confirmed; nothing removed" << std::endl;
            return kAdminExitRefused;
        }
    }
    const ojson answer =
        ctx.client.call("POST", "/admin/bulk-delete" + query_string({{"status", status}})).body;
    if (ctx.json()) {
        print_json(ctx.out, answer);
    } else {
        ctx.out << "removed " << cell(field(answer, "removed")) << " sandboxes in status "
                << cell(field(answer, "status")) << " from the store" << std::endl;
    }
    return 0;
}

int auto_delete_stale_command(Context& ctx) {
    std::string grace;
    if (ctx.options.grace_hours) grace = nlohmann::json(*ctx.options.grace_hours).dump();
    const ojson result =
        ctx.client.call("POST", "/admin/auto-delete-stale" + query_string({{"grace_period_hours", grace}}))
            .body;
    if (ctx.json()) {
        print_json(ctx.out, result);
        return flag(result, "ok") ? 0 : kAdminExitRefused;
    }
    return print_result(ctx.out, "auto_delete_stale", result) ? 0 : kAdminExitRefused;
}

// ---- export -------------------------------------------------------------------------------

// The CSV columns: every field of a sandbox in the broker's order of meaning, then any field
// a newer broker adds, in its order.
const std::vector<std::string> kExportColumns = {
    "sandbox_id",           "name",       "external_id",  "sfdc_account_id", "status",
    "allocated_to_track",   "track_name", "allocated_at", "expires_at",      "deletion_requested_at",
    "deletion_retry_count", "created_at", "updated_at"};

int export_command(Context& ctx) {
    const std::string& format = ctx.options.format;
    const int page_size = ctx.options.limit > 0 ? ctx.options.limit : 1000;
    std::vector<std::string> columns;
    bool first = true;
    if (format == "json") ctx.out << "[";
    for_each_page(ctx, "export", page_size, "", [&](const ojson& items) {
        for (const auto& s : items) {
            if (format == "csv") {
                if (columns.empty()) {
                    columns = kExportColumns;
                    for (const auto& [name, value] : s.items()) {
                        if (std::find(columns.begin(), columns.end(), name) == columns.end())
                            columns.push_back(name);
                    }
                    ctx.out << csv_record(columns);
                }
                std::vector<std::string> fields;
                for (const auto& column : columns) fields.push_back(csv_text(field(s, column)));
                ctx.out << csv_record(fields);
            } else {
                const std::string text = s.dump(-1, ' ', false, ojson::error_handler_t::replace);
                if (format == "json") ctx.out << (first ? "\n" : ",\n");
                ctx.out << text;
                if (format == "jsonl") ctx.out << '\n';
            }
            first = false;
        }
        ctx.out.flush();  // each page leaves before the next is asked for
    });
    if (format == "csv" && columns.empty()) ctx.out << csv_record(kExportColumns);
    if (format == "json") ctx.out << (first ? "]\n" : "\n]\n");
    ctx.out.flush();
    return 0;
}

// ---- reservations and track limits ---------------------------------------------------------

TableRow reservation_row(const ojson& r) {
    const std::string prefix = text(r, "name_prefix");
    return {cell(field(r, "id")),
            cell(field(r, "track")),
            prefix.empty() ? "-" : cell(field(r, "name_prefix")),
            cell(field(r, "starts_at"), true),
            cell(field(r, "ends_at"), true),
            cell(field(r, "count")),
            cell(field(r, "used")),
            cell(field(r, "outstanding")),
            cell(field(r, "shortfall")),
            cell(field(r, "active"))};
}

void print_reservations(std::ostream& out, const ojson& reservations) {
    std::vector<TableRow> rows;
    for (const auto& r : reservations) rows.push_back(reservation_row(r));
    print_table(
        out,
        {"ID", "TRACK", "PREFIX", "STARTS", "ENDS", "COUNT", "USED", "OUTSTANDING", "SHORTFALL", "ACTIVE"},
        rows);
}

int reservations_command(Context& ctx) {
    const ojson answer = ctx.client.get("/admin/reservations");
    if (ctx.json()) {
        print_json(ctx.out, answer);
        return 0;
    }
    print_reservations(ctx.out, answer.at("reservations"));
    return 0;
}

int reserve_command(Context& ctx) {
    const AdminCliOptions& o = ctx.options;
    // The flags' validators accepted both times, so they read.
    ojson body = {{"track", o.track},
                  {"count", o.count},
                  {"starts_at", parse_utc_time(o.starts_at).value()},
                  {"ends_at", parse_utc_time(o.ends_at).value()}};
    if (!o.prefix.empty()) body["name_prefix"] = o.prefix;
    const ojson created = ctx.client.send("POST", "/admin/reservations", body).body;
    // The pool not covering it is worth knowing, not a failure: the reservation stands.
    if (const ojson& warning = field(created, "warning"); warning.is_string())
        ctx.err << "warning: " << cell(warning) << std::endl;
    if (ctx.json()) {
        print_json(ctx.out, created);
        return 0;
    }
    print_reservations(ctx.out, ojson::array({created}));
    return 0;
}

int cancel_reservation_command(Context& ctx) {
    const ojson cancelled =
        ctx.client.call("DELETE", "/admin/reservations/" + url_escape(ctx.options.id)).body;
    if (ctx.json()) {
        print_json(ctx.out, cancelled);
        return 0;
    }
    ctx.out << "cancelled reservation " << cell(field(cancelled, "id")) << " of track "
            << cell(field(cancelled, "track")) << std::endl;
    return 0;
}

void print_limits(std::ostream& out, const ojson& limits) {
    std::vector<TableRow> rows;
    for (const auto& l : limits)
        rows.push_back({cell(field(l, "track")), cell(field(l, "max_active")), cell(field(l, "active"))});
    print_table(out, {"TRACK", "MAX", "ACTIVE"}, rows);
}

int limits_command(Context& ctx) {
    const ojson answer = ctx.client.get("/admin/tracks/limits");
    if (ctx.json()) {
        print_json(ctx.out, answer);
        return 0;
    }
    print_limits(ctx.out, answer.at("limits"));
    return 0;
}

std::string limit_path(const Context& ctx) {
    return "/admin/tracks/" + url_escape(ctx.options.track) + "/limit";
}

int set_limit_command(Context& ctx) {
    const ojson limit =
        ctx.client.send("PUT", limit_path(ctx), {{"max_active", ctx.options.max_active}}).body;
    if (ctx.json()) {
        print_json(ctx.out, limit);
        return 0;
    }
    print_limits(ctx.out, ojson::array({limit}));
    return 0;
}

int remove_limit_command(Context& ctx) {
    const ojson removed = ctx.client.call("DELETE", limit_path(ctx)).body;
    if (ctx.json()) {
        print_json(ctx.out, removed);
        return 0;
    }
    ctx.out << "removed the limit of track " << cell(field(removed, "track")) << std::endl;
    return 0;
}

// ---- webhooks --------------------------------------------------------------------------------

void print_webhooks(std::ostream& out, const ojson& webhooks) {
    std::vector<TableRow> rows;
    for (const auto& w : webhooks) {
        std::string types;
        for (const auto& t : field(w, "event_types")) types += (types.empty() ? "" : ",") + cell(t);
        rows.push_back({cell(field(w, "id")), cell(field(w, "url")), types,
                        flag(w, "enabled") ? "yes" : "no (" + text(w, "disabled_reason") + ")",
                        cell(field(w, "cursor")), cell(field(w, "description"))});
    }
    print_table(out, {"ID", "URL", "EVENTS", "ENABLED", "CURSOR", "DESCRIPTION"}, rows);
}

void print_deliveries(std::ostream& out, const ojson& deliveries) {
    std::vector<TableRow> rows;
    for (const auto& d : deliveries)
        rows.push_back({cell(field(d, "id")), cell(field(d, "event_id")), cell(field(d, "event_type")),
                        cell(field(d, "sandbox_id")), cell(field(d, "status")), cell(field(d, "attempts")),
                        cell(field(d, "last_attempt_at"), true), cell(field(d, "last_http_status")),
                        cell(field(d, "last_error"))});
    print_table(out, {"N", "EVENT", "TYPE", "SANDBOX", "STATUS", "ATTEMPTS", "LAST ATTEMPT", "HTTP", "ERROR"},
                rows);
}

std::string webhook_path(const Context& ctx) {
    return "/admin/webhooks/" + url_escape(ctx.options.id);
}

int webhooks_list_command(Context& ctx) {
    const ojson answer = ctx.client.get("/admin/webhooks");
    if (ctx.json()) {
        print_json(ctx.out, answer);
        return 0;
    }
    print_webhooks(ctx.out, answer.at("webhooks"));
    return 0;
}

int webhooks_create_command(Context& ctx) {
    const AdminCliOptions& o = ctx.options;
    ojson body = {{"url", o.url_target}};
    if (o.event_types.size() == 1 && o.event_types[0] == "*")
        body["event_types"] = "*";
    else
        body["event_types"] = o.event_types;
    if (!o.description.empty()) body["description"] = o.description;
    const ojson created = ctx.client.send("POST", "/admin/webhooks", body).body;
    if (ctx.json()) {
        print_json(ctx.out, created);
        return 0;
    }
    print_webhooks(ctx.out, ojson::array({created}));
    // Shown once: the broker never answers with it again.
    ctx.out << "secret (shown only now): " << text(created, "secret") << std::endl;
    return 0;
}

int webhooks_delete_command(Context& ctx) {
    const ojson deleted = ctx.client.call("DELETE", webhook_path(ctx)).body;
    if (ctx.json()) {
        print_json(ctx.out, deleted);
        return 0;
    }
    ctx.out << "deleted webhook " << cell(field(deleted, "id")) << " and its deliveries" << std::endl;
    return 0;
}

int webhooks_deliveries_command(Context& ctx) {
    const AdminCliOptions& o = ctx.options;
    std::vector<std::pair<std::string, std::string>> params{{"before", o.cursor}};
    if (o.limit > 0) params.emplace_back("limit", std::to_string(o.limit));
    const ojson answer = ctx.client.get(webhook_path(ctx) + "/deliveries" + query_string(params));
    if (ctx.json()) {
        print_json(ctx.out, answer);
        return 0;
    }
    print_deliveries(ctx.out, answer.at("deliveries"));
    if (const ojson& next = field(answer, "next_before"); next.is_number_integer())
        ctx.err << "older deliveries: --before " << next.get<std::int64_t>() << std::endl;
    return 0;
}

int webhooks_redeliver_command(Context& ctx) {
    const ojson delivery =
        ctx.client
            .send("POST",
                  webhook_path(ctx) + "/deliveries/" + std::to_string(ctx.options.delivery) + "/redeliver",
                  ojson::object())
            .body;
    if (ctx.json()) {
        print_json(ctx.out, delivery);
        return 0;
    }
    print_deliveries(ctx.out, ojson::array({delivery}));
    return 0;
}

void webhook_argument(CLI::App& c, AdminCliOptions& o) {
    c.add_option("ID", o.id, "the subscription's id (wh_…)")->required();
}

// CLI11's check for a time flag, so a bad time is bad usage (exit 2) before anything is sent.
const CLI::Validator kUtcTime(
    [](std::string& value) -> std::string {
        return parse_utc_time(value)
                   ? std::string()
                   : "not a time: give Unix seconds or ISO-8601 UTC like 2026-12-03T09:00:00Z";
    },
    "TIME");

void track_argument(CLI::App& c, AdminCliOptions& o) {
    c.add_option("TRACK", o.track, "the track (the X-Instruqt-Track-ID participants send)")->required();
}

// ---- the table ------------------------------------------------------------------------------

void filter_flags(CLI::App& c, AdminCliOptions& o) {
    c.add_option(
        "--status", o.status,
        "only this status: available, allocated, pending_deletion, stale, deletion_failed or deleted "
        "(default: every status but deleted)");
    c.add_option(
        "--track", o.track,
        "only sandboxes of this track (sent as `track` where the broker documents it; refused elsewhere)");
    c.add_option("--prefix", o.prefix,
                 "only sandboxes whose name starts with this (sent as `prefix`, likewise)");
    c.add_option("--query", o.query, "only sandboxes matching this text (sent as `q`, likewise)");
}

void job_argument(CLI::App& c, AdminCliOptions& o) {
    c.add_option("JOB", o.job, "the job: sync, cleanup, auto_expiry or auto_delete_stale")->required();
}

}  // namespace

struct AdminCommand {
    std::string name;
    std::string help;
    std::function<void(CLI::App&, AdminCliOptions&)> flags;
    std::function<int(Context&)> run;
};

namespace {

const std::vector<AdminCommand>& admin_commands() {
    static const std::vector<AdminCommand> table = {
        {"stats", "how many sandboxes are in each status (GET /admin/stats)",
         [](CLI::App&, AdminCliOptions&) {}, stats_command},
        {"list", "sandboxes, one page or --all (GET /admin/sandboxes)",
         [](CLI::App& c, AdminCliOptions& o) {
             filter_flags(c, o);
             c.add_option("--limit", o.limit, "sandboxes per page, 1-1000 (default 100)");
             c.add_option("--cursor", o.cursor, "start at this page (the next_cursor a previous page gave)");
             c.add_flag("--all", o.all,
                        "every page, following the cursor (a progress line per page on stderr)");
         },
         list_command},
        {"show", "one sandbox with its history (GET /admin/sandboxes/ID)",
         [](CLI::App& c, AdminCliOptions& o) { c.add_option("ID", o.id, "the sandbox id")->required(); },
         show_command},
        {"jobs", "the background jobs: paused, running, last run, next run (GET /admin/jobs)",
         [](CLI::App&, AdminCliOptions&) {}, jobs_command},
        {"pause", "pause a job for every process sharing the store (cleanup: freezes deletions)",
         job_argument, [](Context& ctx) { return set_paused_command(ctx, "pause"); }},
        {"resume", "resume a paused job", job_argument,
         [](Context& ctx) { return set_paused_command(ctx, "resume"); }},
        {"run", "run a job now, wait for it with progress on stderr, print its result (exit 1 if it failed)",
         job_argument, run_command},
        {"bulk-delete", "remove every sandbox in a status from the store only (the provider is never called)",
         [](CLI::App& c, AdminCliOptions& o) {
             c.add_option("--status", o.status, "the status to remove (allocated is refused)")->required();
             c.add_flag("--yes", o.yes, "do not ask for confirmation (needed when stdin is not a terminal)");
         },
         bulk_delete_command},
        {"auto-delete-stale", "remove the sandboxes stale for longer than the grace period, now",
         [](CLI::App& c, AdminCliOptions& o) {
             c.add_option(
                 "--grace-hours", o.grace_hours,
                 "stale for longer than this many hours (default: the broker's STALE_GRACE_PERIOD_HOURS)");
         },
         auto_delete_stale_command},
        {"export", "every sandbox (filtered) as CSV or JSON on stdout, page by page, progress on stderr",
         [](CLI::App& c, AdminCliOptions& o) {
             filter_flags(c, o);
             c.add_option("--format", o.format,
                          "csv (RFC 4180, a header row), json (one array) or jsonl (one object a line)")
                 ->check(CLI::IsMember({"csv", "json", "jsonl"}));
             c.add_option("--limit", o.limit, "sandboxes asked for per page, 1-1000 (default 1000)");
         },
         export_command},
        {"reservations",
         "every reservation: its window, count, used, outstanding and shortfall (GET /admin/reservations)",
         [](CLI::App&, AdminCliOptions&) {}, reservations_command},
        {"reserve",
         "hold sandboxes back for a track's participants during a window (POST /admin/reservations)",
         [](CLI::App& c, AdminCliOptions& o) {
             c.add_option("--track", o.track, "the track the sandboxes are held for")->required();
             c.add_option("--count", o.count, "how many sandboxes to hold back")->required();
             c.add_option("--starts-at", o.starts_at, "the window's start: Unix seconds or ISO-8601 UTC")
                 ->required()
                 ->check(kUtcTime);
             c.add_option("--ends-at", o.ends_at, "the window's end (exclusive), likewise")
                 ->required()
                 ->check(kUtcTime);
             c.add_option("--prefix", o.prefix, "only sandboxes whose name starts with this");
         },
         reserve_command},
        {"cancel-reservation", "cancel a reservation: nothing is held back for it from then on",
         [](CLI::App& c, AdminCliOptions& o) {
             c.add_option("ID", o.id, "the reservation's id")->required();
         },
         cancel_reservation_command},
        {"limits", "every track limit with the track's active sandboxes (GET /admin/tracks/limits)",
         [](CLI::App&, AdminCliOptions&) {}, limits_command},
        {"set-limit", "a track never holds more than MAX sandboxes at once (PUT /admin/tracks/TRACK/limit)",
         [](CLI::App& c, AdminCliOptions& o) {
             track_argument(c, o);
             c.add_option("MAX", o.max_active, "the most sandboxes the track holds at once")->required();
         },
         set_limit_command},
        {"remove-limit", "remove a track's limit", track_argument, remove_limit_command},
        // Two words: `admin webhooks <verb>`.
        {"webhooks list", "every webhook subscription (GET /admin/webhooks; never the secrets)",
         [](CLI::App&, AdminCliOptions&) {}, webhooks_list_command},
        {"webhooks create",
         "subscribe a URL to events; prints the secret, shown only once (POST /admin/webhooks)",
         [](CLI::App& c, AdminCliOptions& o) {
             c.add_option("--url", o.url_target, "where the events are POSTed (http or https)")->required();
             c.add_option(
                  "--events", o.event_types,
                  "the event types it receives, e.g. sandbox.allocated sandbox.returned, or * for all")
                 ->required()
                 ->delimiter(',');
             c.add_option("--description", o.description, "what it is for");
         },
         webhooks_create_command},
        {"webhooks delete", "remove a subscription and its deliveries (DELETE /admin/webhooks/ID)",
         webhook_argument, webhooks_delete_command},
        {"webhooks deliveries",
         "a subscription's deliveries, newest first (GET /admin/webhooks/ID/deliveries)",
         [](CLI::App& c, AdminCliOptions& o) {
             webhook_argument(c, o);
             c.add_option("--limit", o.limit, "deliveries per page (default 50)");
             c.add_option("--before", o.cursor, "only deliveries numbered below this (the page after)");
         },
         webhooks_deliveries_command},
        {"webhooks redeliver", "send a delivery again (POST /admin/webhooks/ID/deliveries/N/redeliver)",
         [](CLI::App& c, AdminCliOptions& o) {
             webhook_argument(c, o);
             c.add_option("N", o.delivery, "the delivery's number")->required();
         },
         webhooks_redeliver_command},
    };
    return table;
}

}  // namespace

CLI::App* add_admin_command(CLI::App& app, AdminCliOptions& options) {
    auto* admin = app.add_subcommand("admin",
                                     "the operator's command line: talks to a running broker's admin API "
                                     "(stats, list, show, jobs, run, …)");
    admin->require_subcommand(0, 1);  // none: run_admin_command names them
    admin->add_option(
        "--url", options.url,
        "the broker, e.g. http://127.0.0.1:8080 (env BROKER_URL; default: BROKER_LISTEN's address, "
        "127.0.0.1:8080)");
    admin->add_option(
        "--token-file", options.token_file,
        "a file holding the admin token (default: env BROKER_ADMIN_TOKEN or BROKER_ADMIN_TOKEN_FILE)");
    admin->add_option("--output", options.output, "table (for people, the default) or json (for scripts)")
        ->check(CLI::IsMember({"table", "json"}));
    admin
        ->add_option("--timeout", options.timeout_sec,
                     "seconds one request may take, connect included (default 30)")
        ->check(CLI::Range(0.1, 3600.0));
    admin->add_option("--env-file", options.env_file,
                      "KEY=VALUE file read beneath the environment (default: .env, when present)");
    admin->footer(
        "Connection: --url, --token-file, --output, --timeout and --env-file (see sandbox-broker admin "
        "--help) may come before or after the command's name. The token is never taken on the command "
        "line nor printed; the API's prefix is BROKER_BASE_PATH (default /v1).\n"
        "Exit codes: 0 done; 1 refused by the broker (its error code and message are printed), a job run "
        "that failed, or a declined confirmation; 2 bad usage or no token; 3 the broker could not be "
        "reached (connection refused, unknown host, timeout).\n");
    std::map<std::string, CLI::App*> groups;
    for (const auto& command : admin_commands()) {
        // A name of two words is a command under a group (`webhooks list`): the group is made
        // with its first command.
        CLI::App* parent = admin;
        std::string name = command.name;
        if (const auto space = name.find(' '); space != std::string::npos) {
            const std::string group = name.substr(0, space);
            name = name.substr(space + 1);
            auto& made = groups[group];
            if (!made) {
                made =
                    admin->add_subcommand(group, group + " (see sandbox-broker admin " + group + " --help)");
                made->fallthrough();
                made->require_subcommand(1);
            }
            parent = made;
        }
        auto* sub = parent->add_subcommand(name, command.help);
        sub->fallthrough();  // the connection flags may follow the command's name too
        command.flags(*sub, options);
        sub->callback([&options, &command] { options.chosen = &command; });
    }
    return admin;
}

int run_admin_command(const AdminCliOptions& options, std::ostream& out, std::ostream& err, std::istream& in,
                      bool in_is_terminal) {
    if (!options.chosen) {
        std::string names;
        for (const auto& command : admin_commands()) names += (names.empty() ? "" : ", ") + command.name;
        err << "sandbox-broker admin: a command is required (" << names
            << "; see sandbox-broker admin --help)" << std::endl;
        return kAdminExitUsage;
    }
    try {
        const auto file =
            options.env_file.empty() ? read_dotenv(".env") : read_required_dotenv(options.env_file);
        const auto timeout = std::chrono::milliseconds(static_cast<long long>(options.timeout_sec * 1000));
        const AdminClient client(
            load_admin_connection(process_env(file), options.url, options.token_file, timeout));
        Context ctx{options, client, out, err, in, in_is_terminal};
        return options.chosen->run(ctx);
    } catch (const ConfigError& e) {
        err << "sandbox-broker admin: " << e.what() << std::endl;
        return kAdminExitUsage;
    } catch (const AdminRefused& e) {
        err << "sandbox-broker admin: refused: " << e.code() << ": " << e.message()
            << (e.status() > 0 ? " (HTTP " + std::to_string(e.status()) + ")" : "") << std::endl;
        return kAdminExitRefused;
    } catch (const AdminUnreachable& e) {
        err << "sandbox-broker admin: " << e.what() << std::endl;
        return kAdminExitUnreachable;
    } catch (const std::exception& e) {
        err << "sandbox-broker admin: " << e.what() << std::endl;
        return kAdminExitRefused;
    }
}

}  // namespace broker
