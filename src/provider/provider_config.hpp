// The provider settings (CSP_*, CIRCUIT_BREAKER_*, PROVIDER_*, NIOSXAAS_*) read from the same
// environment lookup as the rest of the configuration. A bad value throws ConfigError naming
// the setting, so start-up stops with a readable message.
#pragma once

#include "core/config.hpp"
#include "provider/csp_client.hpp"
#include "provider/niosxaas_client.hpp"

namespace broker {

// CSP_BASE_URL, CSP_API_TOKEN, CSP_TIMEOUT_CONNECT_SEC (5), CSP_TIMEOUT_READ_SEC (30),
// CIRCUIT_BREAKER_THRESHOLD (5), CIRCUIT_BREAKER_TIMEOUT_SEC (60), PROVIDER_MAX_ATTEMPTS (3),
// PROVIDER_RATE_LIMIT_RPS (5), PROVIDER_RATE_LIMIT_BURST (= the rate, at least 1),
// PROVIDER_BACKOFF_BASE_MS (500), PROVIDER_BACKOFF_CAP_MS (30000), PROVIDER_MAX_RETRY_WAIT_SEC (60).
CspClientOptions load_csp_options(const EnvLookup& env);

// NIOSXAAS_ENABLED (false), NIOSXAAS_BASE_URL, NIOSXAAS_EMAIL, NIOSXAAS_PASSWORD,
// NIOSXAAS_SERVICE_NAME (Instrqt-SaaS), NIOSXAAS_SHADOW_MODE (true), NIOSXAAS_TIMEOUT_SEC (30).
// When enabled, the URL, email and password are required.
NiosxaasOptions load_niosxaas_options(const EnvLookup& env);

// Checks what the jobs need to reach the CSP (base URL and token set); throws ConfigError.
void validate_csp_options(const CspClientOptions& options);

}  // namespace broker
