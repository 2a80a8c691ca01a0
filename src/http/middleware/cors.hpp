// CORS (ARCHITECTURE §3): answers preflights itself (204, or 204 without CORS headers for an
// unlisted origin, never the router's 405) and adds the allow/expose headers to answers for
// listed origins. Unlisted origins get no Access-Control-* header at all.
#pragma once

#include "http/cors_policy.hpp"
#include "http/middleware/middleware.hpp"

namespace broker {

class Cors final : public Middleware {
  public:
    explicit Cors(CorsPolicy policy) : policy_(std::move(policy)) {}

    std::optional<Response> on_request(RequestContext& ctx) override;
    void on_response(const RequestContext& ctx, Response& res) override;

  private:
    CorsPolicy policy_;
};

}  // namespace broker
