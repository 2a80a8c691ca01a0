// The admin API wired for one process: the AdminService over the store, with the jobs this
// process runs (`run`) or none (`serve`: runs are then requested from the workers), the
// dashboard's reads, and their handlers on the router.
#pragma once

#include <memory>
#include <string>

#include "app/background_jobs.hpp"
#include "http/handlers/admin_handlers.hpp"
#include "http/handlers/dashboard_handlers.hpp"
#include "service/admin_service.hpp"
#include "service/dashboard_service.hpp"

namespace broker {

class AdminApi {
  public:
    // Everything given outlives this object; `jobs` may be null. `exclusive_store`: no other
    // process may share the store (SQLite), so a job not run here is refused, not queued.
    AdminApi(const StoreHandle& store, const Clock& clock, BlockingPool& pool, const JobConfig& config,
             BackgroundJobs* jobs, bool exclusive_store);

    void add_routes(Router& router, const std::string& base_path) {
        handlers_.add_routes(router, base_path);
        dashboard_handlers_.add_routes(router, base_path);
    }
    AdminService& service() { return service_; }

  private:
    AdminService service_;
    AdminHandlers handlers_;
    DashboardService dashboard_;
    DashboardHandlers dashboard_handlers_;
};

}  // namespace broker
