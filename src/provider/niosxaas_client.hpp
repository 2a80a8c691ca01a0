// The NIOSXaaS clean-up step (ARCHITECTURE §5): before a sandbox is deleted, remove the
// "universal services" left in it whose name contains the configured filter. Off by default;
// in shadow mode (the default when on) it only reports what it would delete. Its failure is
// reported, never thrown, and never blocks the sandbox's own deletion.
#pragma once

#include <chrono>
#include <string>

#include "provider/adaptive_limiter.hpp"
#include "provider/provider.hpp"
#include "provider/provider_observer.hpp"
#include "runtime/http_client.hpp"

namespace broker {

struct NiosxaasOptions {
    bool enabled = false;                       // NIOSXAAS_ENABLED
    std::string base_url;                       // NIOSXAAS_BASE_URL
    std::string email;                          // NIOSXAAS_EMAIL
    std::string password;                       // NIOSXAAS_PASSWORD; never logged
    std::string service_name = "Instrqt-SaaS";  // NIOSXAAS_SERVICE_NAME: match = name contains it
    bool shadow_mode = true;                    // NIOSXAAS_SHADOW_MODE
    std::chrono::milliseconds timeout{30000};   // NIOSXAAS_TIMEOUT_SEC, per HTTP call
};

class NiosxaasClient final : public ServiceCleaner {
  public:
    // `observer` (may be null, outlives the client) hears of every exchange. `pace` (may be
    // null, outlives the client) is the provider's concurrency limit, shared with the CSP
    // client: every exchange takes a place under it, waiting through `sleep`.
    explicit NiosxaasClient(NiosxaasOptions options, ProviderObserver* observer = nullptr,
                            AdaptiveLimiter* pace = nullptr, SleepFunction sleep = {});

    CleanupResult cleanup(const std::string& external_id) override;

  private:
    NiosxaasOptions options_;
    HttpClient http_;
    ProviderObserver* observer_;
    AdaptiveLimiter* pace_;
    SleepFunction sleep_;
};

}  // namespace broker
