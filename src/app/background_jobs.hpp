// The background half of the broker, wired: the provider client (CSP, with the optional
// NIOSXaaS step), the four jobs and the Worker that schedules them, all stopped together.
// `sandbox-broker worker` runs only this; `run` runs it beside the API. Without a provider
// configuration only the store-only jobs (auto_expiry, auto_delete_stale) exist.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/lifecycle.hpp"
#include "jobs/cleanup_job.hpp"
#include "jobs/expiry_job.hpp"
#include "jobs/job_config.hpp"
#include "jobs/stale_job.hpp"
#include "jobs/sync_job.hpp"
#include "jobs/worker.hpp"
#include "provider/adaptive_limiter.hpp"
#include "provider/provider.hpp"
#include "provider/provider_observer.hpp"
#include "store/store_handle.hpp"

namespace broker {

struct BackgroundConfig {
    JobConfig jobs;
    LeasePolicy lease;       // the API's: expiry must agree with what participants were told
    EnvLookup provider_env;  // where CSP_* and NIOSXAAS_* are read (see app/provider_wiring.hpp)
    bool provider_required = true;
};

// Reads and checks the jobs' and the provider's settings. With `provider_required` (the worker)
// a missing CSP_BASE_URL or CSP_API_TOKEN is a ConfigError naming it; without (run), an unset
// CSP_BASE_URL means "no provider jobs", but a half-set provider is still an error.
BackgroundConfig load_background_config(const EnvLookup& env, const Config& config, bool provider_required);

class BackgroundJobs {
  public:
    // The store and clock outlive this object. Nothing runs until start().
    BackgroundJobs(const StoreHandle& store, const Clock& clock, const BackgroundConfig& config,
                   JobMetrics* metrics = nullptr);
    ~BackgroundJobs();  // stop()
    BackgroundJobs(const BackgroundJobs&) = delete;
    BackgroundJobs& operator=(const BackgroundJobs&) = delete;

    void start();
    // Ends every wait at once (cleanup delays, provider retries, also in runs started from the
    // admin API), so the items in hand finish quickly. Call first at shutdown.
    void interrupt();
    // interrupt(), then waits for the worker to finish the item in hand. Idempotent.
    void stop();

    bool provider_enabled() const { return provider_ != nullptr; }
    const std::string& worker_id() const { return worker_->id(); }
    // The jobs this process runs, in run order (for the admin API's run-now).
    std::vector<Job*> jobs() const;
    void wake() { worker_->wake(); }
    // Starts a run of the job asked for through the admin API (see Worker::start_run_now).
    bool start_run_now(std::string_view job) { return worker_->start_run_now(job); }

  private:
    StoppableSleep shutdown_;
    std::unique_ptr<ProviderObserver> provider_observer_;  // outlives the clients reporting to it
    std::unique_ptr<LimiterObserver> pace_observer_;
    std::unique_ptr<AdaptiveLimiter> pace_;  // the provider's concurrency limit, shared by its jobs
    std::unique_ptr<Provider> provider_;
    std::unique_ptr<ServiceCleaner> cleaner_;
    std::vector<std::unique_ptr<Job>> jobs_;
    std::unique_ptr<Worker> worker_;
};

}  // namespace broker
