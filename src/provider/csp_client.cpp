// The CSP calls and the retry loop they share. Which answers count as the provider being
// unwell (and so toward the breaker) is decided here, in classify_*.
#include "provider/csp_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <stdexcept>

#include "core/excerpt.hpp"
#include "provider/csp_accounts.hpp"

namespace broker {
namespace {

constexpr std::string_view kBreakerName = "csp";
// Of an error answer to a streamed list, what is kept for its excerpt.
constexpr std::size_t kErrorBodyBytes = 64 * 1024;

// What one exchange tells the concurrency limit about the provider's load.
CallSignal pace_signal(const HttpResult& result, bool success, ProviderFailureKind kind,
                       bool provider_fault) {
    if (success) return CallSignal::ok;
    if (kind == ProviderFailureKind::rate_limited) return CallSignal::throttled;
    // Nobody listening is an outage (the breaker's business), not a sign of load.
    if (result.error && result.error->kind == TransportErrorKind::connect) return CallSignal::neutral;
    return provider_fault ? CallSignal::congestion : CallSignal::neutral;
}

// A place under the concurrency limit, given back however the attempt ends.
class PacePlace {
  public:
    explicit PacePlace(AdaptiveLimiter* pace) : pace_(pace) {}
    ~PacePlace() {
        if (permit_) pace_->cancel(*permit_);
    }
    PacePlace(const PacePlace&) = delete;
    PacePlace& operator=(const PacePlace&) = delete;
    // False when the wait for a place was stopped (shutdown).
    bool take(const SleepFunction& sleep) {
        if (!pace_) return true;
        permit_ = pace_->acquire(sleep);
        return permit_.has_value();
    }
    void release(CallSignal signal, std::optional<std::chrono::seconds> retry_after,
                 std::string_view operation) {
        if (!permit_) return;
        pace_->release(*permit_, signal, retry_after, operation);
        permit_.reset();
    }

  private:
    AdaptiveLimiter* pace_;
    std::optional<AdaptiveLimiter::Permit> permit_;
};

std::string trim_trailing_slashes(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

}  // namespace

CspClient::CspClient(CspClientOptions options, const Clock& clock, SleepFunction sleep, RandomSource random,
                     ProviderObserver* observer, AdaptiveLimiter* pace)
    : options_(std::move(options)),
      clock_(clock),
      sleep_(std::move(sleep)),
      http_(HttpClientOptions{.connect_timeout = options_.connect_timeout,
                              .total_timeout = options_.connect_timeout + options_.read_timeout}),
      breaker_(clock, options_.breaker_threshold, options_.breaker_timeout),
      limiter_(clock, options_.rate_limit_rps, options_.rate_limit_burst),
      backoff_(options_.backoff, std::move(random)),
      observer_(observer),
      pace_(pace) {
    options_.base_url = trim_trailing_slashes(options_.base_url);
    if (options_.base_url.empty()) throw std::invalid_argument("CSP client needs a base URL");
    if (options_.max_attempts < 1) throw std::invalid_argument("CSP client needs max_attempts >= 1");
    if (!sleep_) throw std::invalid_argument("CSP client needs a sleep function");
    if (observer_) observer_->breaker_state(kBreakerName, breaker_.state());
}

void CspClient::observe(std::string_view operation, ProviderCallOutcome outcome) {
    if (!observer_) return;
    observer_->call_finished(operation, outcome);
    observer_->breaker_state(kBreakerName, breaker_.state());
}

CspClient::Attempt CspClient::classify_transport(const HttpResult& result) const {
    Attempt a;
    a.provider_fault = true;
    a.retryable = true;
    a.kind = ProviderFailureKind::unavailable;
    const auto& error = *result.error;
    a.message = std::string(error.kind == TransportErrorKind::timeout   ? "timed out: "
                            : error.kind == TransportErrorKind::connect ? "cannot connect: "
                                                                        : "transport error: ") +
                error.message;
    return a;
}

CspClient::Attempt CspClient::classify_status(const HttpResponse& response) const {
    Attempt a;
    const long status = response.status;
    a.message = "HTTP " + std::to_string(status) + ": " + excerpt(response.body);
    if (status >= 200 && status < 300) {
        a.success = true;
        return a;
    }
    if (status == 429) {
        // Throttling is the provider working as intended, not an outage.
        a.kind = ProviderFailureKind::rate_limited;
        a.retryable = true;
        if (auto value = response.header("Retry-After"))
            a.retry_after = parse_retry_after(*value, clock_.now());
        return a;
    }
    if (status >= 500 || status == 408) {
        a.kind = ProviderFailureKind::unavailable;
        a.retryable = true;
        a.provider_fault = true;
        return a;
    }
    // 401/403 (a bad token), other 4xx, redirects: retrying will not change the answer.
    a.kind = ProviderFailureKind::bad_response;
    return a;
}

template <class Perform, class Classify>
CspClient::Outcome CspClient::call(std::string_view operation, const HttpRequest& request, Perform perform,
                                   Classify classify) {
    Outcome out;
    for (int attempt = 1;; ++attempt) {
        PacePlace place(pace_);
        if (!place.take(sleep_)) {
            out.failure =
                ProviderFailure{ProviderFailureKind::unavailable, "stopped while waiting for a place", {}};
            out.retryable = true;
            return out;
        }
        if (const auto wait = limiter_.acquire(); wait.count() > 0 && !sleep_(wait)) {
            out.failure = ProviderFailure{ProviderFailureKind::unavailable, "stopped while rate limited", {}};
            out.retryable = true;
            return out;
        }
        if (!breaker_.allow()) {
            observe(operation, ProviderCallOutcome::circuit_open);
            out.failure =
                ProviderFailure{ProviderFailureKind::circuit_open,
                                "circuit open after repeated provider failures", breaker_.retry_after()};
            out.retryable = true;
            return out;
        }
        HttpResult result = perform(request);
        out.attempts = attempt;
        const Attempt a = result.ok() ? classify(*result.response) : classify_transport(result);
        place.release(pace_signal(result, a.success, a.kind, a.provider_fault), a.retry_after, operation);
        if (a.provider_fault) {
            breaker_.record_failure();
        } else {
            breaker_.record_success();
        }
        // A 2xx the classifier could not use (an HTML page, an unexpected status) is no "ok".
        const ProviderCallOutcome seen = classify_call(result);
        observe(operation, a.success                         ? ProviderCallOutcome::ok
                           : seen == ProviderCallOutcome::ok ? ProviderCallOutcome::bad_response
                                                             : seen);
        if (result.ok()) out.response = std::move(result.response);
        if (a.success) {
            out.failure.reset();
            return out;
        }
        out.failure = ProviderFailure{a.kind, a.message, a.retry_after};
        out.retryable = a.retryable;
        spdlog::warn("provider call {} {} failed (attempt {}/{}, {}ms): {}", request.method, request.url,
                     attempt, options_.max_attempts, result.elapsed.count(), a.message);
        if (!a.retryable || attempt >= options_.max_attempts) return out;
        if (a.retry_after && *a.retry_after > options_.max_retry_wait) return out;
        if (!sleep_(backoff_.delay(attempt, a.retry_after))) return out;
    }
}

ListResult CspClient::list_sandboxes() {
    ListResult list;
    const ListSummary summary = stream_sandboxes(SIZE_MAX, [&](std::vector<ProviderSandbox>&& part) {
        if (list.sandboxes.empty()) {
            list.sandboxes = std::move(part);
        } else {
            std::move(part.begin(), part.end(), std::back_inserter(list.sandboxes));
        }
    });
    list.attempts = summary.attempts;
    list.ignored = summary.ignored;
    if (!summary.ok()) {
        list.sandboxes.clear();
        list.failure = summary.failure;
    }
    return list;
}

ListSummary CspClient::stream_sandboxes(std::size_t part_size, const ListPartSink& sink) {
    HttpRequest request;
    request.method = "GET";
    request.url = options_.base_url + "/current_user/accounts";
    request.headers = {{"Authorization", "Token " + options_.token}, {"Accept", "application/json"}};
    part_size = std::max<std::size_t>(part_size, 1);

    ListSummary summary;
    std::optional<std::string> unusable;  // why the last 2xx answer's list could not be read
    const auto perform = [&](const HttpRequest& r) {
        unusable.reset();
        auto stream = http_.open(r, options_.read_timeout);
        HttpResult result = stream->head();
        if (!result.ok()) return result;
        if (result.response->status < 200 || result.response->status >= 300) {
            // An error answer is small: kept for its excerpt, as perform would.
            result.response->body = stream->read_rest(kErrorBodyBytes);
            return result;
        }
        std::vector<ProviderSandbox> part;
        try {
            const auto counts =
                stream_csp_accounts([&](char* out, std::size_t size) { return stream->read(out, size); },
                                    [&](ProviderSandbox&& sandbox) {
                                        part.push_back(std::move(sandbox));
                                        if (part.size() >= part_size) {
                                            sink(std::move(part));
                                            part.clear();
                                        }
                                    });
            if (!part.empty()) sink(std::move(part));
            summary.listed = counts.active;
            summary.ignored = counts.ignored;
        } catch (const std::invalid_argument& e) {
            unusable = e.what();
        }
        if (stream->error()) {
            // The answer was cut off (or failed after the list's end): the transport's failure.
            unusable.reset();
            result.response.reset();
            result.error = stream->error();
        }
        return result;
    };
    const auto classify = [&](const HttpResponse& response) {
        Attempt a = classify_status(response);
        if (!a.success || !unusable) return a;
        // The real provider sends HTML error pages with 200 too: an outage symptom, retried.
        a.success = false;
        a.kind = ProviderFailureKind::bad_response;
        a.retryable = true;
        a.provider_fault = true;
        a.message = "unusable account list: " + *unusable;
        return a;
    };
    Outcome outcome = call("list", request, perform, classify);
    summary.attempts = outcome.attempts;
    if (outcome.failure) {
        summary.listed = 0;
        summary.ignored = 0;
        summary.failure = std::move(outcome.failure);
    }
    return summary;
}

DeleteResult CspClient::delete_sandbox(const std::string& external_id) {
    DeleteResult result;
    const std::string uuid = safe_last_segment(external_id);
    if (uuid.empty()) {
        result.reason = "external id \"" + external_id + "\" does not end in an account uuid";
        result.failure = ProviderFailureKind::bad_response;
        return result;
    }
    HttpRequest request;
    request.method = "DELETE";
    request.url = options_.base_url + "/sandbox/accounts/" + uuid;
    request.headers = {{"Authorization", "Token " + options_.token}, {"Accept", "application/json"}};

    const auto classify = [&](const HttpResponse& response) {
        Attempt a = classify_status(response);
        if (response.status == 404) {
            a.success = true;  // already deleted, by us before a crash or by someone by hand
        } else if (a.success && response.status != 200 && response.status != 204) {
            a.success = false;
            a.kind = ProviderFailureKind::bad_response;
            a.retryable = true;  // a repeated delete will tell: 404 if this one worked
        }
        return a;
    };
    Outcome outcome = call(
        "delete", request, [&](const HttpRequest& r) { return http_.perform(r); }, classify);
    result.attempts = outcome.attempts;
    if (!outcome.failure) {
        result.status = outcome.response && outcome.response->status == 404 ? DeleteStatus::already_gone
                                                                            : DeleteStatus::deleted;
        return result;
    }
    result.status = DeleteStatus::failed;
    result.reason = std::string(to_string(outcome.failure->kind)) + ": " + outcome.failure->message;
    result.failure = outcome.failure->kind;
    result.retryable = outcome.retryable;
    result.retry_after = outcome.failure->retry_after;
    return result;
}

}  // namespace broker
