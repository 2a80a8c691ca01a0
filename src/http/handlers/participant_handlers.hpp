// The participant endpoints of ARCHITECTURE §3: allocate, look up, mark for deletion, extend.
// Handlers read and validate headers, hand the store work to the blocking pool, and turn
// the service's outcome values into answers; HTTP statuses come from error_response.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "http/handlers/participant_metrics.hpp"
#include "http/router.hpp"
#include "http/waiter_registry.hpp"
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

    // Lets allocations wait (`Prefer: wait=N`, `?wait=N`) in `waiters`, up to `max_wait` of
    // `clock`'s monotonic time. Without it a request that asks to wait is answered at once.
    void enable_waiting(WaiterRegistry& waiters, std::chrono::seconds max_wait, const Clock& clock) {
        waiters_ = &waiters;
        max_wait_ = max_wait;
        clock_ = &clock;
    }

    // Registers the routes under `base_path` (e.g. "/v1"). This object must outlive the router.
    void add_routes(Router& router, const std::string& base_path);

    asio::awaitable<Response> allocate(RequestContext& ctx);
    asio::awaitable<Response> get(RequestContext& ctx);
    asio::awaitable<Response> mark_for_deletion(RequestContext& ctx);
    asio::awaitable<Response> extend(RequestContext& ctx);

  private:
    // The store's answer, or nothing when the client went away while waiting.
    struct Waited {
        std::optional<AllocateResult> result;
        bool gone = false;     // the client closed the connection
        bool closing = false;  // the broker is stopping
    };
    // Waits in the prefix's queue until a retry finds a sandbox (or another final answer),
    // the deadline passes, the client goes away or the broker stops.
    asio::awaitable<Waited> wait_for_sandbox(RequestContext& ctx, const AllocateInput& input,
                                             std::chrono::seconds wait, AllocateResult last);

    // The store's writes: through the store's callback where it has one (no blocking-pool
    // thread waits for the group commit), else on the blocking pool.
    asio::awaitable<AllocateResult> allocate_in_store(const AllocateInput& input);
    asio::awaitable<MarkResult> mark_in_store(std::string sandbox_id, std::string participant_id);

    // The answer to an allocation's final outcome.
    Response allocation_answer(RequestContext& ctx, const AllocateResult& result) const;

    AllocationService& service_;
    BlockingPool& pool_;
    std::chrono::seconds no_sandboxes_retry_after_;
    ParticipantMetrics metrics_;
    WaiterRegistry* waiters_ = nullptr;
    std::chrono::seconds max_wait_{0};
    const Clock* clock_ = nullptr;
};

}  // namespace broker
