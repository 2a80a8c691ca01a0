// Names and classification of provider call outcomes: see provider_observer.hpp.
#include "provider/provider_observer.hpp"

namespace broker {

std::string_view to_string(ProviderCallOutcome outcome) {
    switch (outcome) {
        case ProviderCallOutcome::ok:
            return "ok";
        case ProviderCallOutcome::client_error:
            return "client_error";
        case ProviderCallOutcome::server_error:
            return "server_error";
        case ProviderCallOutcome::bad_response:
            return "bad_response";
        case ProviderCallOutcome::throttled:
            return "throttled";
        case ProviderCallOutcome::timeout:
            return "timeout";
        case ProviderCallOutcome::transport_error:
            return "transport_error";
        case ProviderCallOutcome::circuit_open:
            return "circuit_open";
    }
    return "unknown";
}

ProviderCallOutcome classify_call(const HttpResult& result) {
    if (!result.ok()) {
        return result.error && result.error->kind == TransportErrorKind::timeout
                   ? ProviderCallOutcome::timeout
                   : ProviderCallOutcome::transport_error;
    }
    const long status = result.response->status;
    if (status == 429) return ProviderCallOutcome::throttled;
    if (status >= 500 || status == 408) return ProviderCallOutcome::server_error;
    if (status >= 400) return ProviderCallOutcome::client_error;
    if (status >= 200 && status < 300) return ProviderCallOutcome::ok;
    return ProviderCallOutcome::bad_response;
}

}  // namespace broker
