// One structured line per request (obs/json_log): request_id, track_id (the participant),
// instruqt_track_id, sandbox_id when known, action, outcome, latency_ms, status, method and
// the route template. Never a header value beyond those ids, never a query string (either
// could carry secrets). A pool-empty answer keeps "No sandboxes available" in its message:
// CloudWatch metric filters match that text.
#pragma once

#include "http/middleware/middleware.hpp"
#include "http/router.hpp"

namespace broker {

// The endpoint label of a request: its route template; for a request that matched no route
// (a 405, or one refused before routing) the template of a route with its path when `router`
// is given; else a fixed word (raw paths come from clients and would make labels and log
// fields unbounded).
std::string_view endpoint_label(const RequestContext& ctx, const Router* router = nullptr);
inline constexpr std::string_view kUnmatchedEndpoint = "unmatched";

class AccessLog final : public Middleware {
  public:
    // `router`: where a 405's path is looked up, so its line names the route.
    explicit AccessLog(const Router* router = nullptr) : router_(router) {}
    void on_response(const RequestContext& ctx, Response& res) override;

  private:
    const Router* router_;
};

}  // namespace broker
