// The request pipeline: request id, routing, authentication, middlewares, the handler, and
// the one place where exceptions escaping a handler become answers (Overloaded and
// StoreUnavailable: 503 with Retry-After; anything else: one log line and a 500).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/errors.hpp"
#include "http/asio.hpp"
#include "http/auth.hpp"
#include "http/middleware/middleware.hpp"
#include "http/request_context.hpp"
#include "http/router.hpp"

namespace broker {

class Pipeline {
  public:
    Pipeline(const Router& router, const Authenticator& auth) : router_(router), auth_(auth) {}

    // Adds a middleware; hooks run in the order added. Add everything before serving.
    void use(std::unique_ptr<Middleware> middleware) { middlewares_.push_back(std::move(middleware)); }

    // Answers one complete request. Never throws.
    asio::awaitable<Response> handle(RequestContext& ctx) const;

    // Answers a request the server refused before it was complete (400, 413, 431), with the
    // same envelope and headers as every other answer. ctx.request may be empty.
    Response reject(RequestContext& ctx, ErrorCode code, std::string_view message) const;

  private:
    asio::awaitable<Response> dispatch(RequestContext& ctx, const RouteMatch& match) const;
    Response failure_response(const RequestContext& ctx, std::exception_ptr failure) const;
    void finish(const RequestContext& ctx, Response& res) const;

    const Router& router_;
    const Authenticator& auth_;
    std::vector<std::unique_ptr<Middleware>> middlewares_;
};

}  // namespace broker
