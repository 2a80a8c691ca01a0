// The participant endpoints of ARCHITECTURE §3: allocate, look up, mark for deletion, extend.
// Handlers read and validate headers, hand the store work to the blocking pool, and turn
// the service's outcome values into answers; HTTP statuses come from error_response.
#pragma once

#include <chrono>
#include <string>

#include "http/handlers/participant_metrics.hpp"
#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "service/allocation_service.hpp"

namespace broker {

class ParticipantHandlers {
  public:
    // `metrics` may be default-constructed (counts nothing).
    ParticipantHandlers(AllocationService& service, BlockingPool& pool,
                        std::chrono::seconds no_sandboxes_retry_after, ParticipantMetrics metrics = {})
        : service_(service),
          pool_(pool),
          no_sandboxes_retry_after_(no_sandboxes_retry_after),
          metrics_(std::move(metrics)) {}

    // Registers the routes under `base_path` (e.g. "/v1"). This object must outlive the router.
    void add_routes(Router& router, const std::string& base_path);

    asio::awaitable<Response> allocate(RequestContext& ctx);
    asio::awaitable<Response> get(RequestContext& ctx);
    asio::awaitable<Response> mark_for_deletion(RequestContext& ctx);
    asio::awaitable<Response> extend(RequestContext& ctx);

  private:
    AllocationService& service_;
    BlockingPool& pool_;
    std::chrono::seconds no_sandboxes_retry_after_;
    ParticipantMetrics metrics_;
};

}  // namespace broker
