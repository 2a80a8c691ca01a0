// The provider the sync and cleanup jobs talk to, built from the CSP_* / NIOSXAAS_* settings.
// A translation unit of its own: the CSP client's headers and the jobs' headers each declare a
// BreakerState, so no file may include both.
#pragma once

#include <memory>
#include <optional>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "provider/backoff.hpp"
#include "provider/provider.hpp"

namespace broker {

struct ProviderParts {
    std::unique_ptr<Provider> provider;       // the CSP client
    std::unique_ptr<ServiceCleaner> cleaner;  // the NIOSXaaS step; null when NIOSXAAS_ENABLED is off
};

// Whether the provider is configured. With `required`, a missing CSP_BASE_URL or
// CSP_API_TOKEN is a ConfigError naming it; without, an unset CSP_BASE_URL means "no
// provider" (false). Any bad provider value is a ConfigError either way.
bool check_provider_config(const EnvLookup& env, bool required);

// The provider per the settings, or nothing when it is not configured (see above). Every wait
// inside goes through `sleep`, so stopping it ends them at shutdown.
std::optional<ProviderParts> make_provider(const EnvLookup& env, bool required, const Clock& clock,
                                           SleepFunction sleep);

}  // namespace broker
