// The Provider for the Infoblox Cloud Services Portal (ARCHITECTURE §5). Every call goes
// through the adaptive concurrency limit (when given), the provider rate limit and the circuit
// breaker, and retryable failures (outage, HTML instead of JSON, 429) are retried with backoff
// up to `max_attempts` calls in all.
#pragma once

#include <chrono>
#include <string>

#include "core/clock.hpp"
#include "provider/adaptive_limiter.hpp"
#include "provider/backoff.hpp"
#include "provider/circuit_breaker.hpp"
#include "provider/provider.hpp"
#include "provider/provider_observer.hpp"
#include "provider/rate_limiter.hpp"
#include "runtime/http_client.hpp"
#include "runtime/stoppable_sleep.hpp"

namespace broker {

struct CspClientOptions {
    std::string base_url;                             // CSP_BASE_URL, e.g. https://csp.infoblox.com/v2
    std::string token;                                // CSP_API_TOKEN; sent as "Token <token>", never logged
    std::chrono::milliseconds connect_timeout{5000};  // CSP_TIMEOUT_CONNECT_SEC
    std::chrono::milliseconds read_timeout{30000};    // CSP_TIMEOUT_READ_SEC (added to connect for the total)
    int breaker_threshold = 5;                        // CIRCUIT_BREAKER_THRESHOLD
    std::chrono::seconds breaker_timeout{60};         // CIRCUIT_BREAKER_TIMEOUT_SEC
    int max_attempts = 3;         // PROVIDER_MAX_ATTEMPTS: calls per operation, retries included
    double rate_limit_rps = 5;    // PROVIDER_RATE_LIMIT_RPS; <= 0 disables
    double rate_limit_burst = 5;  // PROVIDER_RATE_LIMIT_BURST
    BackoffPolicy backoff;        // between retries of one operation
    // A Retry-After longer than this is not waited out inside the call: the failure goes back
    // to the job with its retry_after, so a worker thread is not parked for minutes.
    std::chrono::seconds max_retry_wait{60};
};

class CspClient final : public Provider {
  public:
    // `sleep` does every wait (rate limit, backoff) and may be stopped at shutdown;
    // `random` drives the backoff jitter. `observer` (may be null, outlives the client) hears
    // of every exchange and of the breaker's state, named "csp". `pace` (may be null, outlives
    // the client) bounds the calls in flight; it is shared with every other client of the
    // provider and told how each call went.
    CspClient(CspClientOptions options, const Clock& clock, SleepFunction sleep, RandomSource random,
              ProviderObserver* observer = nullptr, AdaptiveLimiter* pace = nullptr);

    // The list is read as it arrives (HttpClient::open): no bound on its length, a bound on
    // each entry (csp_accounts.hpp); list_sandboxes gathers the parts.
    ListResult list_sandboxes() override;
    ListSummary stream_sandboxes(std::size_t part_size, const ListPartSink& sink) override;
    DeleteResult delete_sandbox(const std::string& external_id) override;

    // For the circuit-breaker gauge and the admin API.
    BreakerState breaker_state() const { return breaker_.state(); }

  private:
    // What one HTTP exchange amounted to.
    struct Attempt {
        bool success = false;         // usable answer (list parsed, or delete/404)
        bool provider_fault = false;  // counts toward the breaker
        bool retryable = false;
        ProviderFailureKind kind = ProviderFailureKind::unavailable;
        std::string message;
        std::optional<std::chrono::seconds> retry_after;
    };
    struct Outcome {
        std::optional<HttpResponse> response;  // of the last attempt that got one
        std::optional<ProviderFailure> failure;
        bool retryable = false;  // of the failure
        int attempts = 0;
    };
    // `perform` makes one exchange (HttpResult perform(const HttpRequest&)).
    template <class Perform, class Classify>
    Outcome call(std::string_view operation, const HttpRequest& request, Perform perform, Classify classify);
    void observe(std::string_view operation, ProviderCallOutcome outcome);
    Attempt classify_transport(const HttpResult& result) const;
    Attempt classify_status(const HttpResponse& response) const;

    CspClientOptions options_;
    const Clock& clock_;
    SleepFunction sleep_;
    HttpClient http_;
    CircuitBreaker breaker_;
    ProviderRateLimiter limiter_;
    Backoff backoff_;
    ProviderObserver* observer_;
    AdaptiveLimiter* pace_;
};

}  // namespace broker
