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

// An id as it may appear in a line: the handlers refuse anything else with a 400, and the
// line must not carry it either (a forged line break, a terminal escape, megabytes).
std::string loggable_id(std::string_view value) {
    const bool control = std::any_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
    if (value.size() > kMaxIdBytes || control || !is_valid_utf8(value)) return std::string(kInvalid);
    return std::string(value);
}

std::optional<std::string> header_field(const RequestContext& ctx, std::string_view name) {
    const std::string_view value = to_std(ctx.request[to_beast(name)]);
    if (value.empty()) return std::nullopt;
    return loggable_id(value);
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

    LogFields fields;
    fields.request_id = ctx.request_id;
    fields.track_id = header_field(ctx, "X-Instruqt-Sandbox-ID");
    if (!fields.track_id) fields.track_id = header_field(ctx, "X-Track-ID");
    fields.instruqt_track_id = header_field(ctx, "X-Instruqt-Track-ID");
    if (!ctx.sandbox_id.empty()) {
        fields.sandbox_id = ctx.sandbox_id;
    } else if (const auto id = ctx.params.get("id"); !id.empty()) {
        fields.sandbox_id = loggable_id(id);
    }
    fields.action = std::string(ctx.action.empty() ? std::string_view("http_request") : ctx.action);
    fields.outcome = std::string(ctx.outcome.empty() ? default_outcome(status) : ctx.outcome);
    const auto elapsed = std::chrono::steady_clock::now() - ctx.started;
    fields.latency_ms =
        static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()) / 1000.0;
    fields.status = status;
    const std::string_view method = to_std(ctx.request.method_string());
    fields.extra = {{"method", std::string(method.empty() ? std::string_view("-") : method.substr(0, 16))},
                    {"path", std::string(endpoint_label(ctx, router_))}};
    if (suppressed > 0) fields.extra.emplace_back("suppressed", suppressed);

    std::string_view message = ctx.log_message;
    if (message.empty()) message = "request completed";
    log_event(level, "broker.http", message, fields);
}

}  // namespace broker
