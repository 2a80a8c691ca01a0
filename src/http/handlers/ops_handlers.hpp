// Operations endpoints, no authentication: liveness (/healthz: answers without touching
// anything, the benchmark's baseline), readiness (/readyz: the store answers a ping, and the
// process is not draining for shutdown), and the service's name and version (/).
#pragma once

#include <atomic>

#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/store.hpp"

namespace broker {

class OpsHandlers {
  public:
    OpsHandlers(Store& store, BlockingPool& pool) : store_(store), pool_(pool) {}

    // Registers /healthz, /readyz and / at the root. This object must outlive the router.
    void add_routes(Router& router);

    // Registers /healthz alone (the metrics listener's, in every role).
    static void add_liveness_route(Router& router);

    // From now on /readyz answers 503 so that load balancers stop sending new requests;
    // everything else is still served. Safe from any thread.
    void start_draining() { draining_ = true; }

    static asio::awaitable<Response> healthz(RequestContext& ctx);
    asio::awaitable<Response> readyz(RequestContext& ctx);
    asio::awaitable<Response> root(RequestContext& ctx);

  private:
    Store& store_;
    BlockingPool& pool_;
    std::atomic<bool> draining_{false};
};

}  // namespace broker
