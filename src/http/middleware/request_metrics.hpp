// broker_request_latency_seconds{method,endpoint,status} for every answer, labelled by route
// template ("unmatched" when no route matched) so the number of series stays bounded.
// Label sets are resolved to histogram handles once and cached in a fixed table indexed by
// (route, status), so a request costs an atomic load and the observation, no map look-up.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "http/middleware/middleware.hpp"
#include "http/router.hpp"
#include "obs/broker_metrics.hpp"

namespace broker {

class RequestMetrics final : public Middleware {
  public:
    // Routes registered after this is built are still measured, through the slower path.
    RequestMetrics(ApiMetrics& metrics, const Router& router);

    void on_response(const RequestContext& ctx, Response& res) override;

  private:
    // The slot of (route or unmatched method, status); npos when the status is not cached.
    std::size_t slot(const RequestContext& ctx, int status) const;
    Histogram& resolve(std::size_t slot, std::string_view method, std::string_view endpoint,
                             int status);

    ApiMetrics& metrics_;
    const Router& router_;
    std::unordered_map<const Route*, std::size_t> route_index_;
    std::unique_ptr<std::atomic<Histogram*>[]> slots_;
    std::mutex resolve_mutex_;
    std::deque<Histogram> resolved_;  // stable addresses for the slots
};

}  // namespace broker
