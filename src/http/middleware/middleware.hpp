// One step of the request pipeline (security headers, CORS, rate limit, request metrics,
// access log). Each middleware is a small class in its own file, added to the Pipeline in
// main.cpp; hooks are synchronous so the hot path stays free of extra coroutine frames.
#pragma once

#include <optional>

#include "http/asio.hpp"
#include "http/request_context.hpp"

namespace broker {

class Middleware {
  public:
    virtual ~Middleware() = default;

    // After routing and authentication: ctx.route is the matched route, null for a path or
    // method nobody serves (the router answers 404 / 405 later); ctx.role is what the bearer
    // token grants on a protected route (Role::none: missing or wrong, refused with 401 later). Returning a
    // response answers the request: the handler and later middlewares' on_request are skipped; every
    // on_response still runs.
    virtual std::optional<Response> on_request(RequestContext& ctx) { return std::nullopt; }

    // Decorates every response, in registration order: handlers' answers, errors, and
    // requests the server refused before they were complete (ctx.request then is empty).
    virtual void on_response(const RequestContext& ctx, Response& res) {}
};

}  // namespace broker
