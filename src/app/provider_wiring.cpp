// Building the provider: see provider_wiring.hpp.
#include "app/provider_wiring.hpp"

#include "provider/csp_client.hpp"
#include "provider/niosxaas_client.hpp"
#include "provider/provider_config.hpp"
#include "runtime/http_client.hpp"

namespace broker {

bool check_provider_config(const EnvLookup& env, bool required) {
    const CspClientOptions csp = load_csp_options(env);
    load_niosxaas_options(env);  // throws for a half-set NIOSXaaS configuration
    if (!required && csp.base_url.empty()) return false;
    validate_csp_options(csp);
    return true;
}

void MetricsProviderObserver::call_finished(std::string_view operation, ProviderCallOutcome outcome) {
    metrics_.provider_call(operation, to_string(outcome));
}

void MetricsProviderObserver::breaker_state(std::string_view breaker, BreakerState state) {
    metrics_.set_breaker_state(breaker, state);
}

std::optional<ProviderParts> make_provider(const EnvLookup& env, bool required, const Clock& clock,
                                           SleepFunction sleep, JobMetrics* metrics, int max_concurrency) {
    if (!check_provider_config(env, required)) return std::nullopt;
    http_global_init();
    ProviderParts parts;
    if (metrics) {
        parts.observer = std::make_unique<MetricsProviderObserver>(*metrics);
        parts.pace_observer = std::make_unique<MetricsLimiterObserver>(*metrics);
    }
    AdaptiveLimiterOptions pace;
    pace.max = max_concurrency;
    parts.pace = std::make_unique<AdaptiveLimiter>(clock, pace, parts.pace_observer.get());
    parts.provider = std::make_unique<CspClient>(load_csp_options(env), clock, sleep, make_random_source(),
                                                 parts.observer.get(), parts.pace.get());
    const NiosxaasOptions niosxaas = load_niosxaas_options(env);
    if (niosxaas.enabled) {
        parts.cleaner = std::make_unique<NiosxaasClient>(niosxaas, parts.observer.get(), parts.pace.get(),
                                                         std::move(sleep));
    }
    return parts;
}

}  // namespace broker
