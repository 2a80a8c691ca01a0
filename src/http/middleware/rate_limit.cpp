#include "http/middleware/rate_limit.hpp"

#include <algorithm>

#include "http/error_response.hpp"

namespace broker {
namespace {

// Every X-Forwarded-For line joined with commas, as client_ip() expects; proxies may append
// a line of their own instead of extending the first.
std::string forwarded_for(const Request& request) {
    std::string joined;
    const auto [first, last] = request.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) {
        if (!joined.empty()) joined += ',';
        joined.append(it->value().data(), it->value().size());
    }
    return joined;
}

bool is_blank(std::string_view value) {
    return value.find_first_not_of(" \t") == std::string_view::npos;
}

}  // namespace

RateLimit::RateLimit(RateLimiter& limiter, TrustedProxies trusted, std::vector<std::string> exempt)
    : limiter_(limiter), trusted_(std::move(trusted)), exempt_(std::move(exempt)) {}

std::optional<Response> RateLimit::on_request(RequestContext& ctx) {
    if (std::find(exempt_.begin(), exempt_.end(), ctx.path) != exempt_.end()) return std::nullopt;

    // The participant a request names is only believed once its token proved it a
    // participant: otherwise anyone could spend a victim's bucket by naming it, or escape
    // the per-address limit by naming someone new on every request. Requests without a valid
    // participant token (none, a wrong one, the admin token, an open route) count against the
    // client address.
    ClientKeyInput input;
    if (ctx.role == Role::participant) {
        input.instruqt_sandbox_id = to_std(ctx.request["X-Instruqt-Sandbox-ID"]);
        input.track_id = to_std(ctx.request["X-Track-ID"]);
    }
    // The address only matters without a participant id: skip formatting it otherwise.
    std::string peer, xff;
    if (is_blank(input.instruqt_sandbox_id) && is_blank(input.track_id)) {
        peer = ctx.remote.to_string();
        xff = forwarded_for(ctx.request);
        input.peer = peer;
        input.forwarded_for = xff;
    }
    const RateLimitDecision decision = limiter_.check(rate_limit_key(input, trusted_));
    ctx.rate_limit = decision.limit;
    ctx.rate_limit_remaining = decision.remaining;
    if (decision.allowed) return std::nullopt;
    ctx.outcome = "rate_limited";
    return error_response(ErrorCode::rate_limit_exceeded, "too many requests; retry after the indicated time",
                          ctx.request_id, std::chrono::seconds(decision.retry_after_seconds));
}

void RateLimit::on_response(const RequestContext& ctx, Response& res) {
    if (ctx.rate_limit < 0) return;
    res.set("X-RateLimit-Limit", std::to_string(ctx.rate_limit));
    res.set("X-RateLimit-Remaining", std::to_string(ctx.rate_limit_remaining));
}

}  // namespace broker
