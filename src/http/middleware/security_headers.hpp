// Security headers on every response (ARCHITECTURE §3): no sniffing, no framing, a CSP
// that allows nothing (the API serves JSON only), no referrer, HSTS, no browser features.
#pragma once

#include "http/middleware/middleware.hpp"

namespace broker {

class SecurityHeaders final : public Middleware {
  public:
    void on_response(const RequestContext& ctx, Response& res) override;
};

}  // namespace broker
