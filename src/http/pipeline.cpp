#include "http/pipeline.hpp"

#include <spdlog/spdlog.h>

#include "http/error_response.hpp"
#include "http/request_id.hpp"

namespace broker {
namespace {

constexpr std::chrono::seconds kStoreRetryAfter{1};

void split_target(RequestContext& ctx) {
    const std::string_view target = to_std(ctx.request.target());
    const auto question = target.find('?');
    ctx.path = target.substr(0, question);
    ctx.query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
}

}  // namespace

asio::awaitable<Response> Pipeline::handle(RequestContext& ctx) const {
    ctx.started = std::chrono::steady_clock::now();
    ctx.request_id = request_id_for(to_std(ctx.request["X-Request-ID"]));
    split_target(ctx);
    // Routing comes first so middlewares can label a refusal by its route template.
    const RouteMatch match = router_.match(ctx.request.method(), ctx.path, ctx.params);
    ctx.route = match.route;
    // Authentication comes before the middlewares so the rate limit knows whether the
    // participant a request names was vouched for by a valid token; a refusal for a missing
    // or wrong token is answered in dispatch, after the limit counted the request per address.
    if (match.route && match.route->access != Access::open) {
        const Authenticator::Result result = auth_.authenticate(ctx, match.route->access);
        ctx.role = result.role;
        ctx.auth_refusal = result.refusal;
    }

    std::optional<Response> early;
    std::exception_ptr failure;
    try {
        for (const auto& middleware : middlewares_) {
            early = middleware->on_request(ctx);
            if (early) break;
        }
    } catch (...) {
        failure = std::current_exception();
    }
    // Plain statements around co_await: g++ 12 miscompiles co_await inside ?: expressions.
    Response res;
    if (failure) {
        res = failure_response(ctx, failure);
    } else if (early) {
        res = std::move(*early);
    } else {
        res = co_await dispatch(ctx, match);
    }
    finish(ctx, res);
    co_return res;
}

asio::awaitable<Response> Pipeline::dispatch(RequestContext& ctx, const RouteMatch& match) const {
    if (!match.route) {
        if (!match.path_known)
            co_return error_response(ErrorCode::route_not_found, "no such path", ctx.request_id);
        Response res =
            error_response(ErrorCode::method_not_allowed, "method not allowed on this path", ctx.request_id);
        res.set(bhttp::field::allow, match.allow);
        co_return res;
    }

    if (match.route->access != Access::open) {
        if (ctx.role == Role::none && !ctx.auth_refusal.empty()) {
            co_return error_response(ErrorCode::forbidden, ctx.auth_refusal, ctx.request_id);
        }
        if (ctx.role == Role::none) {
            co_return error_response(ErrorCode::unauthorized, "missing or invalid bearer token",
                                     ctx.request_id);
        }
        const Access access = match.route->access;
        if (access == Access::admin && ctx.role == Role::viewer) {
            co_return error_response(ErrorCode::forbidden,
                                     "the viewer role is read-only: this needs the admin token",
                                     ctx.request_id);
        }
        if ((access == Access::admin && ctx.role != Role::admin) ||
            (access == Access::admin_read && ctx.role != Role::admin && ctx.role != Role::viewer)) {
            co_return error_response(ErrorCode::forbidden, "this route needs the admin token",
                                     ctx.request_id);
        }
        if (access == Access::participant && ctx.role == Role::viewer) {
            co_return error_response(ErrorCode::forbidden, "the viewer token is not a participant token",
                                     ctx.request_id);
        }
    }

    std::optional<Response> res;
    std::exception_ptr failure;
    try {
        res = co_await match.route->handler(ctx);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) co_return failure_response(ctx, failure);
    co_return std::move(*res);
}

Response Pipeline::failure_response(const RequestContext& ctx, std::exception_ptr failure) const {
    try {
        std::rethrow_exception(failure);
    } catch (const Overloaded& e) {
        return error_response(ErrorCode::service_unavailable, "the service is overloaded; retry shortly",
                              ctx.request_id, e.retry_after());
    } catch (const StoreUnavailable& e) {
        spdlog::warn("store unavailable: {} id={}", e.what(), ctx.request_id);
        return error_response(ErrorCode::service_unavailable, "the store is unavailable; retry shortly",
                              ctx.request_id, kStoreRetryAfter);
    } catch (const std::exception& e) {
        spdlog::error("unhandled exception in {} {}: {} id={}", to_std(ctx.request.method_string()),
                      ctx.route ? std::string_view(ctx.route->path_template) : ctx.path.substr(0, 200),
                      e.what(), ctx.request_id);
    } catch (...) {
        spdlog::error("unhandled non-standard exception id={}", ctx.request_id);
    }
    return error_response(ErrorCode::internal, "internal error", ctx.request_id);
}

Response Pipeline::reject(RequestContext& ctx, ErrorCode code, std::string_view message) const {
    ctx.started = std::chrono::steady_clock::now();
    if (ctx.request_id.empty()) ctx.request_id = new_request_id();
    Response res = error_response(code, message, ctx.request_id);
    finish(ctx, res);
    return res;
}

void Pipeline::finish(const RequestContext& ctx, Response& res) const {
    for (const auto& middleware : middlewares_) {
        try {
            middleware->on_response(ctx, res);
        } catch (const std::exception& e) {
            spdlog::error("middleware failed on response: {} id={}", e.what(), ctx.request_id);
        }
    }
    res.set("X-Request-ID", ctx.request_id);
}

}  // namespace broker
