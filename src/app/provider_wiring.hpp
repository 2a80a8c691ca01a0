// The provider the sync and cleanup jobs talk to, built from the CSP_* / NIOSXAAS_* settings,
// with its calls and breaker state counted in the job metrics.
#pragma once

#include <memory>
#include <optional>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "obs/broker_metrics.hpp"
#include "provider/adaptive_limiter.hpp"
#include "provider/provider.hpp"
#include "provider/provider_observer.hpp"
#include "runtime/stoppable_sleep.hpp"

namespace broker {

// Provider calls and breaker states into broker_provider_calls_total and
// broker_circuit_breaker_state.
class MetricsProviderObserver final : public ProviderObserver {
  public:
    explicit MetricsProviderObserver(JobMetrics& metrics) : metrics_(metrics) {}
    void call_finished(std::string_view operation, ProviderCallOutcome outcome) override;
    void breaker_state(std::string_view breaker, BreakerState state) override;

  private:
    JobMetrics& metrics_;
};

// The adaptive limit's state into broker_provider_concurrency_limit,
// broker_provider_calls_in_flight and broker_provider_latency_seconds.
class MetricsLimiterObserver final : public LimiterObserver {
  public:
    explicit MetricsLimiterObserver(JobMetrics& metrics) : metrics_(metrics) {}
    void limit_changed(int limit) override { metrics_.provider_concurrency_limit.set(limit); }
    void in_flight_changed(int in_flight) override { metrics_.provider_calls_in_flight.set(in_flight); }
    void call_latency(std::chrono::duration<double> latency) override {
        metrics_.provider_latency.observe(latency.count());
    }

  private:
    JobMetrics& metrics_;
};

struct ProviderParts {
    std::unique_ptr<ProviderObserver> observer;  // first: the clients below report to it
    std::unique_ptr<LimiterObserver> pace_observer;
    // The provider's one concurrency limit: every job's calls go through it.
    std::unique_ptr<AdaptiveLimiter> pace;
    std::unique_ptr<Provider> provider;       // the CSP client
    std::unique_ptr<ServiceCleaner> cleaner;  // the NIOSXaaS step; null when NIOSXAAS_ENABLED is off
};

// Whether the provider is configured. With `required`, a missing CSP_BASE_URL or
// CSP_API_TOKEN is a ConfigError naming it; without, an unset CSP_BASE_URL means "no
// provider" (false). Any bad provider value is a ConfigError either way.
bool check_provider_config(const EnvLookup& env, bool required);

// The provider per the settings, or nothing when it is not configured (see above). Every wait
// inside goes through `sleep`, so stopping it ends them at shutdown. With `metrics`, the
// clients' calls are counted there. `max_concurrency` (CLEANUP_MAX_CONCURRENCY) caps the
// adaptive limit on calls in flight.
std::optional<ProviderParts> make_provider(const EnvLookup& env, bool required, const Clock& clock,
                                           SleepFunction sleep, JobMetrics* metrics = nullptr,
                                           int max_concurrency = AdaptiveLimiterOptions{}.max);

}  // namespace broker
