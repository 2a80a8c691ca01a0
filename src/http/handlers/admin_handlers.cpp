// The admin endpoints: see admin_handlers.hpp. Answers are JSON; time fields are Unix
// seconds or null, string fields never null.
#include "http/handlers/admin_handlers.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "http/error_response.hpp"
#include "http/handlers/query_params.hpp"
#include "http/handlers/sandbox_json.hpp"
#include "http/offload.hpp"

namespace broker {
namespace {

using nlohmann::json;

std::string dump(const json& body) {
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Response ok(const json& body) {
    return json_response(bhttp::status::ok, dump(body));
}

Response refused(const Refusal& refusal, const RequestContext& ctx) {
    return error_response(refusal.code, refusal.message, ctx.request_id);
}

json status_or_null(const std::optional<SandboxStatus>& status) {
    return status ? json(to_string(*status)) : json(nullptr);
}

json event_json(const SandboxEvent& e) {
    return {{"at", e.at},
            {"from", status_or_null(e.from)},
            {"to", status_or_null(e.to)},
            {"actor", e.actor},
            {"reason", e.reason}};
}

// The stored last result is the run's JSON summary; kept as text when it is not JSON.
json last_result_json(const std::string& text) {
    if (text.empty()) return nullptr;
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? json(text) : parsed;
}

json job_json(const JobView& view, UnixSeconds now) {
    const JobState& s = view.state;
    const bool leased = !s.holder.empty() && s.lease_until > now;
    // A job that never ran (or was asked to run) is due at the next poll.
    const json next_run = !view.known_to_store || s.run_requested ? json(now) : json(s.next_run_at);
    return {
        {"name", view.name},
        {"interval_sec", view.interval.count()},
        {"paused", s.paused},
        {"runs_here", view.runs_here},
        {"run_requested", s.run_requested},
        {"running", leased},
        {"lease_holder", leased ? json(s.holder) : json(nullptr)},
        {"lease_until", leased ? json(s.lease_until) : json(nullptr)},
        {"last_started_at", time_or_null(s.last_started_at)},
        {"last_finished_at", time_or_null(s.last_finished_at)},
        {"last_ok", s.last_finished_at ? json(s.last_ok) : json(nullptr)},
        {"last_result", last_result_json(s.last_result)},
        {"next_run_at", s.paused ? json(nullptr) : next_run},
        {"progress", leased && !s.progress.empty() ? last_result_json(s.progress) : json(nullptr)},
    };
}

std::string_view status_name(JobRunStatus status) {
    switch (status) {
        case JobRunStatus::queued:
            return "queued";
        case JobRunStatus::running:
            return "running";
        case JobRunStatus::finished:
            return "finished";
    }
    return "queued";
}

// Progress and result are stored as JSON text; null when empty.
json stored_json(const std::string& text) {
    return text.empty() ? json(nullptr) : last_result_json(text);
}

json run_json(const JobRun& run) {
    const bool finished = run.status == JobRunStatus::finished;
    return {
        {"job", run.job},
        {"run_id", run.id},
        {"status", status_name(run.status)},
        {"requested_at", run.requested_at},
        {"started_at", time_or_null(run.started_at)},
        {"finished_at", time_or_null(run.finished_at)},
        {"holder", run.holder.empty() ? json(nullptr) : json(run.holder)},
        {"progress", run.status == JobRunStatus::running ? stored_json(run.progress) : json(nullptr)},
        {"ok", finished ? json(run.ok) : json(nullptr)},
        {"result", finished ? stored_json(run.result) : json(nullptr)},
    };
}

// How long to wait between two looks at a run being waited for: short at first (quick runs
// answer quickly), then a few reads a second at most.
std::chrono::milliseconds next_poll(std::chrono::milliseconds previous) {
    return std::min(previous * 2, std::chrono::milliseconds(500));
}

}  // namespace

void AdminHandlers::add_routes(Router& router, const std::string& base_path) {
    const std::string admin = base_path + "/admin";
    using V = bhttp::verb;
    const auto add = [&](V method, const std::string& path,
                         asio::awaitable<Response> (AdminHandlers::*fn)(RequestContext&)) {
        add_admin_route(router, method, admin + path, this, fn);
    };
    add(V::get, "/sandboxes/{id}", &AdminHandlers::get_sandbox);
    add(V::post, "/bulk-delete", &AdminHandlers::bulk_delete);
    add(V::post, "/auto-delete-stale", &AdminHandlers::auto_delete_stale);
    add(V::get, "/jobs", &AdminHandlers::list_jobs);
    add(V::post, "/jobs/{name}/pause", &AdminHandlers::pause_job);
    add(V::post, "/jobs/{name}/resume", &AdminHandlers::resume_job);
    add(V::post, "/jobs/{name}/run", &AdminHandlers::run_job);
    add(V::get, "/jobs/{name}/runs/{id}", &AdminHandlers::get_run);
    router.add(V::post, admin + "/sync", Access::admin,
               [this](RequestContext& ctx) { return run_named(ctx, std::string(kSyncJobName)); });
    router.add(V::post, admin + "/cleanup", Access::admin,
               [this](RequestContext& ctx) { return run_named(ctx, std::string(kCleanupJobName)); });
}

asio::awaitable<Response> AdminHandlers::get_sandbox(RequestContext& ctx) {
    auto work = [service = &service_, id = std::string(ctx.params.get("id"))] {
        return service->sandbox(id);
    };
    const std::optional<SandboxDetail> detail = co_await offload(pool_, std::move(work));
    if (!detail) co_return error_response(ErrorCode::sandbox_not_found, "no such sandbox", ctx.request_id);

    json body = sandbox_json(detail->sandbox);
    json history = json::array();
    for (const auto& event : detail->history) history.push_back(event_json(event));
    body["history"] = std::move(history);
    co_return ok(body);
}

asio::awaitable<Response> AdminHandlers::bulk_delete(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto status = AdminService::parse_bulk_delete_status(query_value(*params, "status"));
    if (status.refusal) co_return refused(*status.refusal, ctx);

    auto work = [service = &service_, s = *status.value] { return service->bulk_delete(s); };
    const std::int64_t removed = co_await offload(pool_, std::move(work));
    co_return ok({{"status", to_string(*status.value)}, {"removed", removed}});
}

asio::awaitable<Response> AdminHandlers::auto_delete_stale(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto grace = service_.parse_grace_hours(query_value(*params, "grace_period_hours"));
    if (grace.refusal) co_return refused(*grace.refusal, ctx);

    auto work = [service = &service_, g = *grace.value] { return service->delete_stale(g); };
    const JobRunResult result = co_await offload(pool_, std::move(work));
    json body = result.to_json();
    body["grace_period_hours"] = static_cast<double>(grace.value->count()) / 3600.0;
    co_return ok(body);
}

asio::awaitable<Response> AdminHandlers::list_jobs(RequestContext& ctx) {
    auto work = [service = &service_] { return service->jobs(); };
    const std::vector<JobView> views = co_await offload(pool_, std::move(work));
    const UnixSeconds now = service_.now();
    json jobs = json::array();
    for (const auto& view : views) jobs.push_back(job_json(view, now));
    co_return ok({{"jobs", std::move(jobs)}, {"now", now}});
}

asio::awaitable<Response> AdminHandlers::pause_job(RequestContext& ctx) {
    return set_paused(ctx, true);
}

asio::awaitable<Response> AdminHandlers::resume_job(RequestContext& ctx) {
    return set_paused(ctx, false);
}

asio::awaitable<Response> AdminHandlers::set_paused(RequestContext& ctx, bool paused) {
    const auto name = AdminService::check_job_name(ctx.params.get("name"));
    if (name.refusal) co_return refused(*name.refusal, ctx);
    auto work = [service = &service_, n = *name.value, paused] { return service->set_paused(n, paused); };
    const JobView view = co_await offload(pool_, std::move(work));
    co_return ok(job_json(view, service_.now()));
}

asio::awaitable<Response> AdminHandlers::run_job(RequestContext& ctx) {
    const auto name = AdminService::check_job_name(ctx.params.get("name"));
    if (name.refusal) co_return refused(*name.refusal, ctx);
    co_return co_await run_named(ctx, *name.value);
}

asio::awaitable<Response> AdminHandlers::run_named(RequestContext& ctx, std::string job) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto wait = AdminService::parse_run_wait(query_value(*params, "wait"));
    if (wait.refusal) co_return refused(*wait.refusal, ctx);

    auto work = [service = &service_, job] { return service->run(job); };
    const Checked<JobRunReport> report = co_await offload(pool_, std::move(work));
    if (report.refusal) co_return refused(*report.refusal, ctx);
    JobRun run = report.value->run;

    // Waiting happens here, on the I/O side: a timer between short store reads, so a slow run
    // holds no pool thread however many operators wait for it.
    if (wait.value->count() > 0) {
        const auto deadline = std::chrono::steady_clock::now() + *wait.value;
        asio::steady_timer timer(co_await asio::this_coro::executor);
        std::chrono::milliseconds pause(25);
        while (run.status != JobRunStatus::finished && std::chrono::steady_clock::now() < deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            timer.expires_after(std::min(pause, std::max(left, std::chrono::milliseconds(1))));
            co_await timer.async_wait(asio::use_awaitable);
            pause = next_poll(pause);
            auto look = [service = &service_, job, id = run.id] { return service->run_status(job, id); };
            if (auto now = co_await offload(pool_, std::move(look))) run = std::move(*now);
        }
    }

    json body = run_json(run);
    // 200 only to a caller who waited: without `wait` the answer is always 202, whatever the pace.
    if (run.status == JobRunStatus::finished && wait.value->count() > 0) co_return ok(body);
    const auto admin_at = ctx.path.find("/admin/");
    const std::string base(ctx.path.substr(0, admin_at == std::string_view::npos ? 0 : admin_at));
    body["status_url"] = base + "/admin/jobs/" + job + "/runs/" + std::to_string(run.id);
    body["message"] =
        report.value->runs_here
            ? "the run was accepted; GET status_url for its progress and result"
            : "this process does not run " + job + "; a worker process runs it at its next poll";
    co_return json_response(bhttp::status::accepted, dump(body));
}

asio::awaitable<Response> AdminHandlers::get_run(RequestContext& ctx) {
    const auto name = AdminService::check_job_name(ctx.params.get("name"));
    if (name.refusal) co_return refused(*name.refusal, ctx);
    const auto id = AdminService::parse_run_id(ctx.params.get("id"));
    if (id.refusal) co_return refused(*id.refusal, ctx);
    auto work = [service = &service_, n = *name.value, i = *id.value] { return service->run_status(n, i); };
    const std::optional<JobRun> run = co_await offload(pool_, std::move(work));
    if (!run) {
        co_return error_response(ErrorCode::job_not_found,
                                 "no run " + std::to_string(*id.value) + " of " + *name.value +
                                     " (the newest " + std::to_string(kJobRunHistory) +
                                     " runs of each job are kept)",
                                 ctx.request_id);
    }
    co_return ok(run_json(*run));
}

}  // namespace broker
