#include "http/middleware/security_headers.hpp"

#include "http/router.hpp"

namespace broker {

void SecurityHeaders::on_response(const RequestContext& ctx, Response& res) {
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    std::string_view csp = kDefaultCsp;
    if (ctx.route) {
        for (const auto& [path_template, policy] : relaxed_) {
            if (ctx.route->path_template == path_template) csp = policy;
        }
    }
    res.set("Content-Security-Policy", to_beast(csp));
    res.set("Referrer-Policy", "no-referrer");
    res.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    res.set("Permissions-Policy",
            "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
            "payment=(), usb=()");
}

}  // namespace broker
