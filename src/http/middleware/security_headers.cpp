#include "http/middleware/security_headers.hpp"

#include "http/router.hpp"

namespace broker {

// This middleware is the one writer of these fields (no handler sets them), so they are
// inserted: set() would first look each name up among the answer's fields to replace it.
void SecurityHeaders::on_response(const RequestContext& ctx, Response& res) {
    res.insert("X-Content-Type-Options", "nosniff");
    res.insert(bhttp::field::x_frame_options, "DENY");
    std::string_view csp = kDefaultCsp;
    if (ctx.route) {
        for (const auto& [path_template, policy] : relaxed_) {
            if (ctx.route->path_template == path_template) csp = policy;
        }
    }
    res.insert("Content-Security-Policy", to_beast(csp));
    res.insert("Referrer-Policy", "no-referrer");
    res.insert(bhttp::field::strict_transport_security, "max-age=31536000; includeSubDomains");
    res.insert("Permissions-Policy",
               "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
               "payment=(), usb=()");
}

}  // namespace broker
