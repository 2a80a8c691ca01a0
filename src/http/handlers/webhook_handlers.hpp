// The admin endpoints of webhook subscriptions: POST/GET /admin/webhooks,
// GET/DELETE /admin/webhooks/{id}, POST /admin/webhooks/{id}/enable,
// GET /admin/webhooks/{id}/deliveries (paged, newest first) and
// POST /admin/webhooks/{id}/deliveries/{n}/redeliver. Reads are open to the viewer token;
// changes are the admin's. The secret is in the creation's answer only. Store work (and the
// target's name resolution) runs on the blocking pool.
#pragma once

#include <string>

#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "service/webhook_service.hpp"

namespace broker {

class WebhookHandlers {
  public:
    WebhookHandlers(WebhookService& service, BlockingPool& pool) : service_(service), pool_(pool) {}

    // Registers the routes under `base_path` + "/admin". This object must outlive the router.
    void add_routes(Router& router, const std::string& base_path);

    asio::awaitable<Response> create(RequestContext& ctx);
    asio::awaitable<Response> list(RequestContext& ctx);
    asio::awaitable<Response> get(RequestContext& ctx);
    asio::awaitable<Response> remove(RequestContext& ctx);
    asio::awaitable<Response> enable(RequestContext& ctx);
    asio::awaitable<Response> deliveries(RequestContext& ctx);
    asio::awaitable<Response> redeliver(RequestContext& ctx);

  private:
    WebhookService& service_;
    BlockingPool& pool_;
};

}  // namespace broker
