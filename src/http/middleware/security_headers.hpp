// Security headers on every response (ARCHITECTURE §3): no sniffing, no framing, a CSP
// that allows nothing (the API serves JSON only), no referrer, HSTS, no browser features.
// The exceptions are the HTML pages: the docs page gets a policy allowing exactly its own
// inline script and style (by hash), the dashboard's routes one allowing its own script and
// style files; both allow fetches of our own origin only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "http/middleware/middleware.hpp"

namespace broker {

class SecurityHeaders final : public Middleware {
  public:
    static constexpr std::string_view kDefaultCsp = "default-src 'none'; frame-ancestors 'none'";

    // Answers of the route `path_template` get `policy` instead of the default CSP.
    void relax_csp_for(std::string path_template, std::string policy) {
        relaxed_.emplace_back(std::move(path_template), std::move(policy));
    }

    void on_response(const RequestContext& ctx, Response& res) override;

  private:
    std::vector<std::pair<std::string, std::string>> relaxed_;
};

}  // namespace broker
