// The admin endpoints of ARCHITECTURE §3 (admin token only): one sandbox with its history,
// store maintenance (bulk-delete, auto-delete-stale), and the background jobs (list, pause,
// resume, run now; sync and cleanup as shortcuts for running those; a run's progress). The
// pool's list, statistics and exports are the dashboard's (dashboard_handlers). Query
// parameters are validated by the AdminService; everything that touches the store goes to
// the blocking pool, never the I/O threads. A run is never done inside the request: it is
// answered 202 with its id at once, or, with ?wait=N, after polling its record from an
// I/O-side timer (no pool thread is held while waiting).
#pragma once

#include <string>

#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "service/admin_service.hpp"

namespace broker {

class AdminHandlers {
  public:
    AdminHandlers(AdminService& service, BlockingPool& pool) : service_(service), pool_(pool) {}

    // Registers the routes under `base_path` + "/admin". This object must outlive the router.
    void add_routes(Router& router, const std::string& base_path);

    asio::awaitable<Response> get_sandbox(RequestContext& ctx);
    asio::awaitable<Response> bulk_delete(RequestContext& ctx);
    asio::awaitable<Response> auto_delete_stale(RequestContext& ctx);
    asio::awaitable<Response> list_jobs(RequestContext& ctx);
    asio::awaitable<Response> pause_job(RequestContext& ctx);
    asio::awaitable<Response> resume_job(RequestContext& ctx);
    asio::awaitable<Response> run_job(RequestContext& ctx);
    // POST /admin/sync and /admin/cleanup: run that job now.
    asio::awaitable<Response> run_named(RequestContext& ctx, std::string job);
    // GET /admin/jobs/{name}/runs/{id}: a run asked for, with its progress or result.
    asio::awaitable<Response> get_run(RequestContext& ctx);

  private:
    asio::awaitable<Response> set_paused(RequestContext& ctx, bool paused);

    AdminService& service_;
    BlockingPool& pool_;
};

}  // namespace broker
