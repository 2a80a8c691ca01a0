// The admin endpoints of reservations and track limits (admin token only):
// POST/GET /admin/reservations, GET/DELETE /admin/reservations/{id},
// PUT/DELETE /admin/tracks/{track}/limit and GET /admin/tracks/limits. Bodies are JSON
// objects; a malformed one is 400 INVALID_REQUEST naming the field. Store work runs on the
// blocking pool.
#pragma once

#include <functional>
#include <string>

#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "service/quota_service.hpp"

namespace broker {

class QuotaHandlers {
  public:
    // `changed` is called after every change to the rules (the metrics forget their figures).
    QuotaHandlers(QuotaService& service, BlockingPool& pool, std::function<void()> changed = {})
        : service_(service), pool_(pool), changed_(std::move(changed)) {}

    // Registers the routes under `base_path` + "/admin". This object must outlive the router.
    void add_routes(Router& router, const std::string& base_path);

    asio::awaitable<Response> create_reservation(RequestContext& ctx);
    asio::awaitable<Response> list_reservations(RequestContext& ctx);
    asio::awaitable<Response> get_reservation(RequestContext& ctx);
    asio::awaitable<Response> cancel_reservation(RequestContext& ctx);
    asio::awaitable<Response> put_limit(RequestContext& ctx);
    asio::awaitable<Response> delete_limit(RequestContext& ctx);
    asio::awaitable<Response> list_limits(RequestContext& ctx);

  private:
    void changed() const {
        if (changed_) changed_();
    }

    QuotaService& service_;
    BlockingPool& pool_;
    std::function<void()> changed_;
};

}  // namespace broker
