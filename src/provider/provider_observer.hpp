// What the provider clients tell about their calls as they make them: each HTTP exchange's
// outcome and the circuit breaker's state after it. The wiring (app/) turns this into the
// broker_provider_calls_total and broker_circuit_breaker_state metrics; the provider layer
// stays free of the metrics registry.
#pragma once

#include <string_view>

#include "core/breaker_state.hpp"
#include "runtime/http_client.hpp"

namespace broker {

enum class ProviderCallOutcome {
    ok,               // a usable answer (a delete's 404 too: the account is gone)
    client_error,     // a 4xx other than 408 and 429: our request or token is wrong
    server_error,     // a 5xx or 408: the provider is unwell
    bad_response,     // 2xx/3xx we cannot use: an HTML page, malformed JSON, an unexpected status
    throttled,        // 429
    timeout,          // no answer within the timeout
    transport_error,  // no answer: refused, unreachable, TLS or protocol failure
    circuit_open,     // not sent: the breaker refused it
};

std::string_view to_string(ProviderCallOutcome outcome);

// The outcome of one exchange by status or transport error, before any body is looked at.
ProviderCallOutcome classify_call(const HttpResult& result);

class ProviderObserver {
  public:
    virtual ~ProviderObserver() = default;
    // One HTTP exchange (or a call the breaker refused) of `operation` ended so. Thread-safe.
    virtual void call_finished(std::string_view operation, ProviderCallOutcome outcome) = 0;
    // The breaker named `breaker` is in `state` after a call asked or reported to it.
    virtual void breaker_state(std::string_view breaker, BreakerState state) = 0;
};

}  // namespace broker
