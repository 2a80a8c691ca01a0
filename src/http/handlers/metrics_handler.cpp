#include "http/handlers/metrics_handler.hpp"

#include "http/auth.hpp"
#include "http/error_response.hpp"
#include "http/offload.hpp"
#include "obs/exposition.hpp"

namespace broker {

void MetricsHandler::add_routes(Router& router) {
    router.add(bhttp::verb::get, "/metrics", Access::open, [this](RequestContext& ctx) { return metrics(ctx); });
}

asio::awaitable<Response> MetricsHandler::metrics(RequestContext& ctx) {
    ctx.action = "metrics";
    if (!token_.empty()) {
        const auto presented = parse_bearer(to_std(ctx.request[bhttp::field::authorization]));
        if (!presented || !constant_time_equal(*presented, token_)) {
            co_return error_response(ErrorCode::unauthorized, "/metrics needs the metrics token",
                                     ctx.request_id);
        }
    }
    auto render = [registry = &registry_] { return registry->render(); };
    std::string body = co_await offload(pool_, std::move(render));
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, to_beast(kExpositionContentType));
    res.body() = std::move(body);
    co_return res;
}

}  // namespace broker
