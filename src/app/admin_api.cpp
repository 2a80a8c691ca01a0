// Wiring of the admin API: see admin_api.hpp.
#include "app/admin_api.hpp"

#include "core/errors.hpp"

namespace broker {
namespace {

LocalJobs local_jobs(BackgroundJobs* jobs, bool exclusive_store) {
    LocalJobs local;
    local.exclusive_store = exclusive_store;
    if (!jobs) return local;
    local.jobs = jobs->jobs();
    local.start_run = [jobs](const std::string& job) { jobs->start_run_now(job); };
    local.wake = [jobs] { jobs->wake(); };
    return local;
}

DashboardStore& dashboard_side(Store& store) {
    auto* side = dynamic_cast<DashboardStore*>(&store);
    if (!side) throw ConfigError("this store cannot answer the dashboard's reads");
    return *side;
}

}  // namespace

AdminApi::AdminApi(Store& store, const Clock& clock, BlockingPool& pool, const JobConfig& config,
                   BackgroundJobs* jobs, bool exclusive_store)
    : service_(store, lifecycle_side(store), job_state_side(store), clock, config,
               local_jobs(jobs, exclusive_store)),
      handlers_(service_, pool),
      dashboard_(store, dashboard_side(store), job_state_side(store), clock),
      dashboard_handlers_(dashboard_, pool) {}

}  // namespace broker
