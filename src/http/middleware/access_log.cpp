#include "http/middleware/access_log.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "http/router.hpp"
#include "obs/json_log.hpp"

namespace broker {
namespace {

constexpr std::size_t kMaxIdBytes = 256;

std::optional<std::string> header_field(const RequestContext& ctx, std::string_view name) {
    const std::string_view value = to_std(ctx.request[to_beast(name)]);
    if (value.empty()) return std::nullopt;
    return std::string(value.substr(0, kMaxIdBytes));
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

void AccessLog::on_response(const RequestContext& ctx, Response& res) {
    const int status = static_cast<int>(res.result_int());
    const bool pool_empty = ctx.outcome == "no_sandboxes";
    const auto level = status >= 500 ? spdlog::level::err : pool_empty ? spdlog::level::warn : spdlog::level::info;
    if (!spdlog::should_log(level)) return;

    LogFields fields;
    fields.request_id = ctx.request_id;
    fields.track_id = header_field(ctx, "X-Instruqt-Sandbox-ID");
    if (!fields.track_id) fields.track_id = header_field(ctx, "X-Track-ID");
    fields.instruqt_track_id = header_field(ctx, "X-Instruqt-Track-ID");
    if (!ctx.sandbox_id.empty()) {
        fields.sandbox_id = ctx.sandbox_id;
    } else if (const auto id = ctx.params.get("id"); !id.empty()) {
        fields.sandbox_id = std::string(id.substr(0, kMaxIdBytes));
    }
    fields.action = std::string(ctx.action.empty() ? std::string_view("http_request") : ctx.action);
    fields.outcome = std::string(ctx.outcome.empty() ? default_outcome(status) : ctx.outcome);
    const auto elapsed = std::chrono::steady_clock::now() - ctx.started;
    fields.latency_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()) / 1000.0;
    fields.status = status;
    const std::string_view method = to_std(ctx.request.method_string());
    fields.extra = {{"method", std::string(method.empty() ? std::string_view("-") : method.substr(0, 16))},
                    {"path", std::string(endpoint_label(ctx, router_))}};

    std::string_view message = ctx.log_message;
    if (message.empty()) message = "request completed";
    log_event(level, "broker.http", message, fields);
}

}  // namespace broker
