// One structured line per request (obs/json_log): request_id, track_id (the participant),
// instruqt_track_id, sandbox_id when known, action, outcome, latency_ms, status, method and
// the route template. Never a header value beyond those ids, and those only when they are
// well-formed (at most 256 bytes of UTF-8 without control characters; otherwise the field
// says "(invalid)"), never a query string (either could carry secrets). A pool-empty answer
// keeps "No sandboxes available" in its message: CloudWatch metric filters match that text.
//
// Refusals of anonymous requests (a 4xx without a valid token, or a request no route
// serves) cost the sender nothing, so their lines are rate-limited: at most
// ACCESS_LOG_REFUSED_PER_SEC per second (a burst of one second's worth; 0: none); the next
// such line written carries `suppressed` (how many were left out since), and every left-out line is
// counted in broker_access_log_suppressed_total. Request metrics still count every request.
#pragma once

#include <cstdint>
#include <mutex>

#include "core/clock.hpp"
#include "core/token_bucket.hpp"
#include "http/middleware/middleware.hpp"
#include "http/router.hpp"
#include "obs/metrics.hpp"

namespace broker {

// The endpoint label of a request: its route template; for a request that matched no route
// (a 405, or one refused before routing) the template of a route with its path when `router`
// is given; else a fixed word (raw paths come from clients and would make labels and log
// fields unbounded).
std::string_view endpoint_label(const RequestContext& ctx, const Router* router = nullptr);
inline constexpr std::string_view kUnmatchedEndpoint = "unmatched";

// Whether an answer refuses a request nobody authenticated: the lines an anonymous flood makes.
bool is_anonymous_refusal(const RequestContext& ctx, int status);

// A token bucket of log lines: `per_second` lines sustained, as many at once (0: no line).
// Thread-safe.
class LineBudget {
  public:
    LineBudget(const Clock& clock, double per_second);

    // Whether a line may be written now; when it may, `suppressed` is how many were refused
    // since the last line written.
    bool take(std::uint64_t& suppressed);

  private:
    const Clock& clock_;
    const TokenRate rate_;  // one second's worth at once, at least one line; none when the rate is 0
    std::mutex mutex_;
    TokenBucket bucket_;
    std::uint64_t suppressed_ = 0;
};

class AccessLog final : public Middleware {
  public:
    // `suppressed` counts the lines left out (may be a default-constructed Counter); `router`:
    // where a 405's path is looked up, so its line names the route.
    AccessLog(const Clock& clock, double refused_per_second, Counter suppressed = {},
              const Router* router = nullptr);

    void on_response(const RequestContext& ctx, Response& res) override;

  private:
    LineBudget refusals_;
    Counter suppressed_;
    const Router* router_;
};

}  // namespace broker
