#include "http/handlers/ops_handlers.hpp"

#include <spdlog/spdlog.h>

#include "http/error_response.hpp"
#include "http/offload.hpp"

namespace broker {

void OpsHandlers::add_routes(Router& router) {
    add_liveness_route(router);
    router.add(bhttp::verb::get, "/readyz", Access::open,
               [this](RequestContext& ctx) { return readyz(ctx); });
    router.add(bhttp::verb::get, "/", Access::open, [this](RequestContext& ctx) { return root(ctx); });
}

void OpsHandlers::add_liveness_route(Router& router) {
    router.add(bhttp::verb::get, "/healthz", Access::open, [](RequestContext& ctx) { return healthz(ctx); });
}

asio::awaitable<Response> OpsHandlers::healthz(RequestContext&) {
    co_return json_response(bhttp::status::ok, R"({"status":"ok"})");
}

asio::awaitable<Response> OpsHandlers::readyz(RequestContext& ctx) {
    if (draining_) {
        co_return error_response(ErrorCode::service_unavailable, "draining: the server is shutting down",
                                 ctx.request_id);
    }
    std::string failure;
    try {
        auto ping = [store = &store_] { store->ping(); };
        co_await offload(pool_, std::move(ping));
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (failure.empty()) co_return json_response(bhttp::status::ok, R"({"status":"ready"})");
    spdlog::warn("not ready: {} id={}", failure, ctx.request_id);
    co_return error_response(ErrorCode::service_unavailable, "the store is not reachable", ctx.request_id,
                             std::chrono::seconds(1));
}

asio::awaitable<Response> OpsHandlers::root(RequestContext&) {
    co_return json_response(bhttp::status::ok,
                            R"({"name":"sandbox-broker","version":")" BROKER_VERSION R"("})");
}

}  // namespace broker
