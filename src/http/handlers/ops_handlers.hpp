// Operations endpoints, no authentication: liveness (/healthz: answers without touching
// anything, the benchmark's baseline), readiness (/readyz: the store answers a ping), and
// the service's name and version (/).
#pragma once

#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/store.hpp"

namespace broker {

class OpsHandlers {
  public:
    OpsHandlers(Store& store, BlockingPool& pool) : store_(store), pool_(pool) {}

    // Registers /healthz, /readyz and / at the root. This object must outlive the router.
    void add_routes(Router& router);

    asio::awaitable<Response> healthz(RequestContext& ctx);
    asio::awaitable<Response> readyz(RequestContext& ctx);
    asio::awaitable<Response> root(RequestContext& ctx);

  private:
    Store& store_;
    BlockingPool& pool_;
};

}  // namespace broker
