// The admin endpoints an operator's dashboard reads: the pool's statistics, its time series,
// the list of sandboxes with filters and its CSV export (streamed page by page), and the
// sandboxes whose deletion keeps failing. Everything that touches the store goes to the
// blocking pool, never the I/O threads; the export holds one page in memory at a time.
#pragma once

#include <string>

#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "service/dashboard_service.hpp"

namespace broker {

class DashboardHandlers {
  public:
    DashboardHandlers(DashboardService& service, BlockingPool& pool) : service_(service), pool_(pool) {}

    // Registers the routes under `base_path` + "/admin". This object must outlive the router.
    void add_routes(Router& router, const std::string& base_path);

    // Rows per page the CSV export reads.
    static constexpr int kExportPageRows = 1000;

    asio::awaitable<Response> stats(RequestContext& ctx);
    asio::awaitable<Response> timeseries(RequestContext& ctx);
    asio::awaitable<Response> list_sandboxes(RequestContext& ctx);
    asio::awaitable<Response> export_sandboxes(RequestContext& ctx);
    asio::awaitable<Response> cleanup_failures(RequestContext& ctx);

  private:
    DashboardService& service_;
    BlockingPool& pool_;
};

}  // namespace broker
