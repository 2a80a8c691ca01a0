// One structured line per request (obs/json_log): request_id, track_id (the participant),
// instruqt_track_id, sandbox_id when known, action, outcome, latency_ms, status, method and
// the route template. Never a header value beyond those ids, never a query string (either
// could carry secrets). A pool-empty answer keeps "No sandboxes available" in its message:
// CloudWatch metric filters match that text.
#pragma once

#include "http/middleware/middleware.hpp"

namespace broker {

// The endpoint label of a request: its route template, or a fixed word when no route matched
// (raw paths come from clients and would make labels and log fields unbounded).
std::string_view endpoint_label(const RequestContext& ctx);
inline constexpr std::string_view kUnmatchedEndpoint = "unmatched";

class AccessLog final : public Middleware {
  public:
    void on_response(const RequestContext& ctx, Response& res) override;
};

}  // namespace broker
