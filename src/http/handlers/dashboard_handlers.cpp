// The dashboard's endpoints: see dashboard_handlers.hpp. Answers are JSON (the export CSV);
// time fields are Unix seconds or null, string fields never null.
#include "http/handlers/dashboard_handlers.hpp"

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "http/csv.hpp"
#include "http/error_response.hpp"
#include "http/handlers/sandbox_json.hpp"
#include "http/offload.hpp"
#include "http/handlers/query_params.hpp"
#include "http/streamed_body.hpp"

namespace broker {
namespace {

using nlohmann::json;

Response ok(const json& body) {
    return json_response(bhttp::status::ok, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

Response refused(const Refusal& refusal, const RequestContext& ctx) {
    return error_response(refusal.code, refusal.message, ctx.request_id);
}

double rounded(double value, double unit) {
    return std::round(value / unit) * unit;
}

json hours(std::int64_t seconds) {
    return rounded(static_cast<double>(seconds) / 3600.0, 0.001);
}

json stats_json(const DashboardStats& s) {
    json body = json::object();
    // Today's fields first, unchanged: counts by status and the pool's total.
    for (const auto status : kAllStatuses) body[std::string(to_string(status))] = s.counts[status];
    const std::int64_t total = s.counts.total();
    body["total"] = total;
    body["now"] = s.now;
    json shares = json::object();
    for (const auto status : kAllStatuses) {
        if (status == SandboxStatus::deleted) continue;  // history, not part of the pool
        shares[std::string(to_string(status))] =
            total == 0
                ? 0.0
                : rounded(100.0 * static_cast<double>(s.counts[status]) / static_cast<double>(total), 0.01);
    }
    body["percentages"] = std::move(shares);

    const AllocationWindowStats& w = s.window;
    const std::int64_t window_sec = s.query.window.count();
    body["window"] = {{"hours", rounded(static_cast<double>(window_sec) / 3600.0, 0.001)},
                      {"from", s.now - window_sec},
                      {"to", s.now}};
    const bool any = w.allocations > 0;
    body["lab_duration"] = {
        {"allocations", w.allocations},
        {"active", w.active},
        {"finished", w.allocations - w.active},
        {"average_hours",
         any ? json(rounded(static_cast<double>(w.total_sec) / static_cast<double>(w.allocations) / 3600.0,
                            0.001))
             : json(nullptr)},
        {"longest_hours", any ? hours(w.longest_sec) : json(nullptr)},
        {"shortest_hours", any ? hours(w.shortest_sec) : json(nullptr)},
        {"total_hours", hours(w.total_sec)},
    };
    json tracks = json::array();
    for (const auto& t : w.tracks)
        tracks.push_back({{"track", t.track}, {"active", t.active}, {"total", t.total}});
    body["tracks"] = std::move(tracks);

    body["cleanup"] = {{"deleted", s.counts[SandboxStatus::deleted]},
                       {"failed", s.backlog.failed},
                       {"pending", s.backlog.pending},
                       {"being_deleted", s.backlog.being_deleted},
                       {"retrying", s.backlog.retrying}};
    body["niosxaas"] = {{"source", "last_cleanup_run"},
                        {"run_finished_at", time_or_null(s.niosxaas.run_finished_at)},
                        {"cleaned", s.niosxaas.cleaned},
                        {"skipped", s.niosxaas.skipped},
                        {"failed", s.niosxaas.failed},
                        {"shadow", s.niosxaas.shadow},
                        {"pending", s.backlog.pending + s.backlog.failed}};
    body["allocation_rate"] = {{"window_sec", s.rate_window.count()},
                               {"allocations", w.recent},
                               {"per_second", s.rate_per_sec},
                               {"per_hour", rounded(s.rate_per_sec * 3600.0, 0.001)}};
    body["exhaustion"] = {
        {"seconds", s.exhaustion_sec ? json(std::round(*s.exhaustion_sec)) : json(nullptr)},
        {"at", s.exhaustion_sec ? json(s.now + static_cast<UnixSeconds>(std::llround(*s.exhaustion_sec)))
                                : json(nullptr)},
    };
    return body;
}

json sample_json(const PoolSample& sample) {
    json j = {{"at", sample.at}};
    for (const auto status : kAllStatuses) j[std::string(to_string(status))] = sample.counts[status];
    j["total"] = sample.counts.total();
    j["allocations"] = sample.allocations;
    return j;
}

std::string optional_time(const std::optional<UnixSeconds>& t) {
    return t ? std::to_string(*t) : std::string();
}

// The export's columns, in order.
void append_header(std::string& out) {
    append_csv_record(out, {"sandbox_id", "name", "status", "allocated_to_track", "track_name", "external_id",
                            "sfdc_account_id", "allocated_at", "expires_at", "deletion_requested_at",
                            "deletion_retry_count", "created_at", "updated_at"});
}

void append_row(std::string& out, const Sandbox& s) {
    append_csv_record(
        out, {s.sandbox_id, s.name, to_string(s.status), s.allocated_to_track, s.track_name, s.external_id,
              s.sfdc_account_id, optional_time(s.allocated_at), optional_time(s.expires_at),
              optional_time(s.deletion_requested_at), std::to_string(s.deletion_retry_count),
              std::to_string(s.created_at), std::to_string(s.updated_at)});
}

// Where an export is: the filters, the cursor of the next page, whether it is done.
struct ExportState {
    SandboxSearch query;
    bool header_sent = false;
    bool done = false;
};

}  // namespace

void DashboardHandlers::add_routes(Router& router, const std::string& base_path) {
    const std::string admin = base_path + "/admin";
    using V = bhttp::verb;
    const auto add = [&](const std::string& path,
                         asio::awaitable<Response> (DashboardHandlers::*fn)(RequestContext&)) {
        // Reads: the viewer role may call them as well.
        router.add(V::get, admin + path, Access::admin_read,
                   [this, fn](RequestContext& ctx) { return (this->*fn)(ctx); });
    };
    add("/stats", &DashboardHandlers::stats);
    add("/timeseries", &DashboardHandlers::timeseries);
    add("/sandboxes", &DashboardHandlers::list_sandboxes);
    add("/sandboxes.csv", &DashboardHandlers::export_sandboxes);
    add("/cleanup/failures", &DashboardHandlers::cleanup_failures);
}

asio::awaitable<Response> DashboardHandlers::stats(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto query = DashboardService::parse_stats_query(query_value(*params, "window_hours"),
                                                           query_value(*params, "top"));
    if (query.refusal) co_return refused(*query.refusal, ctx);
    auto work = [service = &service_, q = *query.value] { return service->stats(q); };
    const DashboardStats stats = co_await offload(pool_, std::move(work));
    co_return ok(stats_json(stats));
}

asio::awaitable<Response> DashboardHandlers::timeseries(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto query = service_.parse_timeseries(query_value(*params, "from"), query_value(*params, "to"),
                                                 query_value(*params, "step"));
    if (query.refusal) co_return refused(*query.refusal, ctx);
    auto work = [service = &service_, q = *query.value] { return service->timeseries(q); };
    const std::vector<PoolSample> samples = co_await offload(pool_, std::move(work));
    json items = json::array();
    for (const auto& s : samples) items.push_back(sample_json(s));
    co_return ok({{"from", query.value->from},
                  {"to", query.value->to},
                  {"step", query.value->step},
                  {"samples", std::move(items)}});
}

asio::awaitable<Response> DashboardHandlers::list_sandboxes(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    auto query = DashboardService::parse_search(
        query_value(*params, "status"), query_value(*params, "limit"), query_value(*params, "cursor"),
        query_value(*params, "q"), query_value(*params, "track"), query_value(*params, "prefix"));
    if (query.refusal) co_return refused(*query.refusal, ctx);

    auto work = [service = &service_, q = std::move(*query.value)] { return service->search(q); };
    const AdminPage page = co_await offload(pool_, std::move(work));
    json items = json::array();
    for (const auto& s : page.items) items.push_back(sandbox_json(s));
    const std::size_t count = page.items.size();
    co_return ok({{"sandboxes", std::move(items)},
                  {"count", count},
                  {"next_cursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}});
}

asio::awaitable<Response> DashboardHandlers::export_sandboxes(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    // The list's filters; `limit` is the export's own page size, so it is not taken.
    auto query = DashboardService::parse_search(
        query_value(*params, "status"), std::nullopt, query_value(*params, "cursor"),
        query_value(*params, "q"), query_value(*params, "track"), query_value(*params, "prefix"));
    if (query.refusal) co_return refused(*query.refusal, ctx);
    auto state = std::make_shared<ExportState>();
    state->query = std::move(*query.value);
    state->query.page.limit = kExportPageRows;

    // Each piece is one page, read on the blocking pool; the connection waits for it without
    // holding an I/O thread, and only that page is in memory.
    set_body_stream(
        ctx, [state, service = &service_, pool = &pool_]() -> asio::awaitable<std::optional<std::string>> {
            if (state->done) co_return std::nullopt;
            std::string out;
            if (!state->header_sent) {
                append_header(out);
                state->header_sent = true;
            }
            auto work = [service, q = state->query] { return service->search_page(q); };
            const ListPage page = co_await offload(*pool, std::move(work));
            out.reserve(out.size() + page.items.size() * 160);
            for (const auto& s : page.items) append_row(out, s);
            if (page.next_after) {
                state->query.page.after_sandbox_id = *page.next_after;
            } else {
                state->done = true;
            }
            co_return out;
        });
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/csv; charset=utf-8; header=present");
    res.set(bhttp::field::content_disposition,
            "attachment; filename=\"sandboxes-" + std::to_string(service_.now()) + ".csv\"");
    res.set(bhttp::field::cache_control, "no-store");
    co_return res;
}

asio::awaitable<Response> DashboardHandlers::cleanup_failures(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto limit = DashboardService::parse_failures_limit(query_value(*params, "limit"));
    if (limit.refusal) co_return refused(*limit.refusal, ctx);
    auto work = [service = &service_, n = *limit.value] { return service->deletion_failures(n); };
    const std::vector<DeletionFailureInfo> failures = co_await offload(pool_, std::move(work));
    json items = json::array();
    for (const auto& f : failures) {
        json item = sandbox_json(f.sandbox);
        item["reason"] = f.reason;
        item["attempts"] = f.sandbox.deletion_retry_count;
        item["next_attempt_at"] = time_or_null(f.next_attempt_at);
        items.push_back(std::move(item));
    }
    const std::size_t count = failures.size();
    co_return ok({{"failures", std::move(items)}, {"count", count}});
}

}  // namespace broker
