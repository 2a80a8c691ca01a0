// Wiring of the admin API: see admin_api.hpp.
#include "app/admin_api.hpp"

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

}  // namespace

AdminApi::AdminApi(const StoreHandle& store, const Clock& clock, BlockingPool& pool, const JobConfig& config,
                   BackgroundJobs* jobs, bool exclusive_store)
    : service_(store.store(), store.part<LifecycleStore>(), store.part<JobStateStore>(), clock, config,
               local_jobs(jobs, exclusive_store)),
      handlers_(service_, pool),
      dashboard_(store.store(), store.part<DashboardStore>(), store.part<JobStateStore>(), clock),
      dashboard_handlers_(dashboard_, pool) {}

}  // namespace broker
