#include "http/middleware/access_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/utf8.hpp"
#include "http/router.hpp"
#include "obs/json_log.hpp"

namespace broker {
namespace {

constexpr std::size_t kMaxIdBytes = 256;
constexpr std::string_view kInvalid = "(invalid)";
constexpr std::size_t kKeptMembersBytes = 16 * 1024;

// An id as it may appear in a line: the handlers refuse anything else with a 400, and the
// line must not carry it either (a forged line break, a terminal escape, megabytes).
std::string_view loggable_id(std::string_view value) {
    const bool control = std::any_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
    if (value.size() > kMaxIdBytes || control || !is_valid_utf8(value)) return kInvalid;
    return value;
}

// The header fields a line carries, found in one pass over the request's fields (the first of
// each name, as a look-up by name finds) rather than a look-up per name.
struct IdHeaders {
    std::string_view instruqt_sandbox_id, track_id, instruqt_track_id;
};

IdHeaders id_headers(const Request& request) {
    IdHeaders found;
    bool sandbox_seen = false, track_seen = false, lab_seen = false;
    for (const auto& field : request) {
        const auto name = field.name_string();
        if (!sandbox_seen && beast::iequals(name, "X-Instruqt-Sandbox-ID")) {
            sandbox_seen = true;
            found.instruqt_sandbox_id = to_std(field.value());
        } else if (!track_seen && beast::iequals(name, "X-Track-ID")) {
            track_seen = true;
            found.track_id = to_std(field.value());
        } else if (!lab_seen && beast::iequals(name, "X-Instruqt-Track-ID")) {
            lab_seen = true;
            found.instruqt_track_id = to_std(field.value());
        }
    }
    return found;
}

std::string_view default_outcome(int status) {
    if (status >= 500) return "error";
    if (status >= 400) return "rejected";
    return "success";
}

}  // namespace

std::string_view endpoint_label(const RequestContext& ctx, const Router* router) {
    if (ctx.route) return ctx.route->path_template;
    if (router) {
        if (const Route* same_path = router->route_for_path(ctx.path)) return same_path->path_template;
    }
    return kUnmatchedEndpoint;
}

bool is_anonymous_refusal(const RequestContext& ctx, int status) {
    if (ctx.role != Role::none) return false;
    return (status >= 400 && status < 500) || ctx.route == nullptr;
}

LineBudget::LineBudget(const Clock& clock, double per_second)
    : clock_(clock),
      rate_{per_second, per_second > 0 ? std::max(per_second, 1.0) : 0.0},
      bucket_(rate_, clock.steady_now()) {}

bool LineBudget::take(std::uint64_t& suppressed) {
    std::lock_guard lock(mutex_);
    bucket_.refill(rate_, clock_.steady_now());
    if (!bucket_.try_take()) {
        ++suppressed_;
        return false;
    }
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
}

AccessLog::AccessLog(const Clock& clock, double refused_per_second, Counter suppressed, const Router* router)
    : refusals_(clock, refused_per_second), suppressed_(suppressed), router_(router) {}

void AccessLog::on_response(const RequestContext& ctx, Response& res) {
    const int status = static_cast<int>(res.result_int());
    const bool pool_empty = ctx.outcome == "no_sandboxes";
    const auto level = status >= 500 ? spdlog::level::err
                       : pool_empty  ? spdlog::level::warn
                                     : spdlog::level::info;
    if (!spdlog::should_log(level)) return;
    std::uint64_t suppressed = 0;
    if (is_anonymous_refusal(ctx, status) && !refusals_.take(suppressed)) {
        suppressed_.inc();
        return;
    }

    // The line's members written straight into a buffer each thread reuses: the same fields,
    // in the same order, as log_event writes for LogFields (request_id, track_id,
    // instruqt_track_id, sandbox_id, action, outcome, latency_ms, status, then method, path).
    thread_local std::string members;
    members.clear();
    append_log_member(members, "request_id", ctx.request_id);
    const IdHeaders ids = id_headers(ctx.request);
    if (!ids.instruqt_sandbox_id.empty()) {
        append_log_member(members, "track_id", loggable_id(ids.instruqt_sandbox_id));
    } else if (!ids.track_id.empty()) {
        append_log_member(members, "track_id", loggable_id(ids.track_id));
    }
    if (!ids.instruqt_track_id.empty())
        append_log_member(members, "instruqt_track_id", loggable_id(ids.instruqt_track_id));
    if (!ctx.sandbox_id.empty()) {
        append_log_member(members, "sandbox_id", ctx.sandbox_id);
    } else if (const auto id = ctx.params.get("id"); !id.empty()) {
        append_log_member(members, "sandbox_id", loggable_id(id));
    }
    append_log_member(members, "action", ctx.action.empty() ? std::string_view("http_request") : ctx.action);
    append_log_member(members, "outcome", ctx.outcome.empty() ? default_outcome(status) : ctx.outcome);
    const auto elapsed = std::chrono::steady_clock::now() - ctx.started;
    append_log_member_ms(members, "latency_ms",
                         std::chrono::duration_cast<std::chrono::microseconds>(elapsed));
    append_log_member(members, "status", std::int64_t{status});
    const std::string_view method = to_std(ctx.request.method_string());
    append_log_member(members, "method", method.empty() ? std::string_view("-") : method.substr(0, 16));
    append_log_member(members, "path", endpoint_label(ctx, router_));
    if (suppressed > 0) append_log_member(members, "suppressed", static_cast<std::int64_t>(suppressed));

    std::string_view message = ctx.log_message;
    if (message.empty()) message = "request completed";
    log_event_members(*spdlog::default_logger_raw(), level, "broker.http", message, members);
    if (members.capacity() > kKeptMembersBytes) std::string().swap(members);  // a huge line: give it back
}

}  // namespace broker
