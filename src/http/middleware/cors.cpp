#include "http/middleware/cors.hpp"

namespace broker {

std::optional<Response> Cors::on_request(RequestContext& ctx) {
    const std::string_view origin = to_std(ctx.request[bhttp::field::origin]);
    if (!CorsPolicy::is_preflight(to_std(ctx.request.method_string()), origin)) return std::nullopt;
    Response res{bhttp::status::no_content, 11};
    if (!policy_.allow_origin(origin).empty()) {
        res.set(bhttp::field::access_control_allow_methods, to_beast(CorsPolicy::kAllowMethods));
        res.set(bhttp::field::access_control_allow_headers, to_beast(CorsPolicy::kAllowHeaders));
        res.set(bhttp::field::access_control_max_age, to_beast(CorsPolicy::kMaxAgeSeconds));
    }
    // Allow-Origin, Expose-Headers and Vary are added by on_response, as for every answer.
    return res;
}

void Cors::on_response(const RequestContext& ctx, Response& res) {
    if (policy_.varies_by_origin()) res.set(bhttp::field::vary, "Origin");
    const std::string_view allowed = policy_.allow_origin(to_std(ctx.request[bhttp::field::origin]));
    if (allowed.empty()) return;
    res.set(bhttp::field::access_control_allow_origin, to_beast(allowed));
    res.set(bhttp::field::access_control_expose_headers, to_beast(CorsPolicy::kExposeHeaders));
}

}  // namespace broker
