// Per-client rate limit (ARCHITECTURE §3): a token bucket per participant for requests the
// participant token authenticated, else per client IP (X-Forwarded-For believed only from
// TRUSTED_PROXIES): unauthenticated, wrongly authenticated and admin requests count against
// their address, so naming a participant spends its bucket only with a valid token. Runs
// after the pipeline's authentication (ctx.role). Health, readiness and metrics are
// exempt so probes and scrapes never get refused. Answers carry X-RateLimit-Limit and
// X-RateLimit-Remaining; a refusal is 429 RATE_LIMIT_EXCEEDED with Retry-After.
#pragma once

#include <string>
#include <vector>

#include "http/client_key.hpp"
#include "http/middleware/middleware.hpp"
#include "http/rate_limiter.hpp"

namespace broker {

class RateLimit final : public Middleware {
  public:
    // `exempt`: exact paths never limited (e.g. /healthz, /readyz, /metrics).
    RateLimit(RateLimiter& limiter, TrustedProxies trusted, std::vector<std::string> exempt);

    std::optional<Response> on_request(RequestContext& ctx) override;
    void on_response(const RequestContext& ctx, Response& res) override;

  private:
    RateLimiter& limiter_;
    TrustedProxies trusted_;
    std::vector<std::string> exempt_;
};

}  // namespace broker
