// The NIOSXaaS session dance (sign in, switch into the sandbox's account) and the service
// clean-up. Bodies of our requests are never logged: the sign-in body holds the password.
#include "provider/niosxaas_client.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/excerpt.hpp"
#include "provider/niosxaas_answers.hpp"

namespace broker {
namespace {

using nlohmann::json;

// One step's answer body, or why there is none.
struct Answer {
    std::string body;
    std::string error;
};

void observe(ProviderObserver* observer, std::string_view operation, ProviderCallOutcome outcome) {
    if (observer) observer->call_finished(operation, outcome);
}

// One HTTP exchange under the provider's concurrency limit (when there is one), which hears
// how it went. A wait stopped by shutdown is answered as a transport error.
HttpResult paced_perform(const HttpClient& http, AdaptiveLimiter* pace, const SleepFunction& sleep,
                         const HttpRequest& request, std::string_view operation) {
    if (!pace) return http.perform(request);
    const auto permit = pace->acquire(sleep ? sleep : SleepFunction([](std::chrono::milliseconds d) {
        std::this_thread::sleep_for(d);
        return true;
    }));
    if (!permit)
        return HttpResult{
            {}, TransportError{TransportErrorKind::other, "stopped while waiting for a place"}, {}};
    HttpResult result;
    try {
        result = http.perform(request);
    } catch (...) {
        pace->cancel(*permit);
        throw;
    }
    CallSignal signal = CallSignal::neutral;
    switch (classify_call(result)) {
        case ProviderCallOutcome::ok:
            signal = CallSignal::ok;
            break;
        case ProviderCallOutcome::throttled:
            signal = CallSignal::throttled;
            break;
        case ProviderCallOutcome::server_error:
        case ProviderCallOutcome::timeout:
            signal = CallSignal::congestion;
            break;
        default:
            break;
    }
    pace->release(*permit, signal, std::nullopt, operation);
    return result;
}

Answer exchange(const HttpClient& http, ProviderObserver* observer, const HttpRequest& request,
                const char* step, std::string_view operation, AdaptiveLimiter* pace,
                const SleepFunction& sleep) {
    const HttpResult result = paced_perform(http, pace, sleep, request, operation);
    const ProviderCallOutcome seen = classify_call(result);
    if (!result.ok()) {
        observe(observer, operation, seen);
        return {{}, std::string(step) + ": " + result.error->message};
    }
    const auto& response = *result.response;
    // Every answer other than a 2xx JSON object is of no use to the step.
    observe(observer, operation,
            seen != ProviderCallOutcome::ok ? seen
            : is_json_object(response.body) ? ProviderCallOutcome::ok
                                            : ProviderCallOutcome::bad_response);
    if (response.status < 200 || response.status >= 300) {
        return {
            {},
            std::string(step) + ": HTTP " + std::to_string(response.status) + ": " + excerpt(response.body)};
    }
    if (!is_json_object(response.body)) {
        return {{}, std::string(step) + ": answer is not a JSON object: " + excerpt(response.body)};
    }
    return {response.body, {}};
}

HttpRequest json_post(const std::string& url, const json& body, const std::string& jwt) {
    HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    if (!jwt.empty()) request.headers.emplace_back("Authorization", "Bearer " + jwt);
    request.body = body.dump();
    return request;
}

HttpRequest bearer(std::string method, std::string url, const std::string& jwt) {
    HttpRequest request;
    request.method = std::move(method);
    request.url = std::move(url);
    request.headers = {{"Authorization", "Bearer " + jwt}, {"Accept", "application/json"}};
    return request;
}

CleanupResult failed(std::string reason, int cleaned = 0, std::vector<std::string> names = {}) {
    spdlog::warn("niosxaas cleanup failed: {}", reason);
    return {CleanupOutcome::failed, cleaned, std::move(names), std::move(reason)};
}

}  // namespace

NiosxaasClient::NiosxaasClient(NiosxaasOptions options, ProviderObserver* observer, AdaptiveLimiter* pace,
                               SleepFunction sleep)
    : options_(std::move(options)),
      http_(HttpClientOptions{.connect_timeout = options_.timeout, .total_timeout = options_.timeout}),
      observer_(observer),
      pace_(pace),
      sleep_(std::move(sleep)) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
}

CleanupResult NiosxaasClient::cleanup(const std::string& external_id) {
    if (!options_.enabled) return {CleanupOutcome::skipped, 0, {}, {}};
    const std::string& base = options_.base_url;

    auto signed_in = exchange(http_, observer_,
                              json_post(base + "/v2/session/users/sign_in",
                                        {{"email", options_.email}, {"password", options_.password}}, {}),
                              "sign_in", "niosxaas_sign_in", pace_, sleep_);
    if (!signed_in.error.empty()) return failed(signed_in.error);
    const auto user_jwt = read_niosxaas_jwt(signed_in.body);
    if (!user_jwt) return failed("sign_in: answer has no jwt");

    auto switched = exchange(http_, observer_,
                             json_post(base + "/v2/session/account_switch", {{"id", external_id}}, *user_jwt),
                             "account_switch", "niosxaas_account_switch", pace_, sleep_);
    if (!switched.error.empty()) return failed(switched.error);
    const auto account_jwt = read_niosxaas_jwt(switched.body);
    if (!account_jwt) return failed("account_switch: answer has no jwt");

    const std::string services_url = base + "/api/universalinfra/v1/universalservices";
    auto listed = exchange(http_, observer_, bearer("GET", services_url, *account_jwt), "list services",
                           "niosxaas_list_services", pace_, sleep_);
    if (!listed.error.empty()) return failed(listed.error);
    const auto matched = read_niosxaas_services(listed.body, options_.service_name);
    if (!matched) return failed("list services: answer has no \"results\" array");
    std::vector<std::string> names;
    for (const auto& s : *matched) names.push_back(s.name);

    if (options_.shadow_mode) {
        for (const auto& s : *matched) {
            spdlog::info("niosxaas shadow mode: would delete service \"{}\" ({}) in {}", s.name, s.id,
                         external_id);
        }
        return {CleanupOutcome::shadow, static_cast<int>(matched->size()), std::move(names), {}};
    }

    int cleaned = 0;
    std::vector<std::string> errors;
    for (const auto& s : *matched) {
        const std::string uuid = safe_last_segment(s.id);
        if (uuid.empty()) {
            errors.push_back("service \"" + s.name + "\" has unusable id \"" + s.id + "\"");
            continue;
        }
        const HttpResult result =
            paced_perform(http_, pace_, sleep_, bearer("DELETE", services_url + "/" + uuid, *account_jwt),
                          "niosxaas_delete_service");
        const ProviderCallOutcome seen = classify_call(result);
        // 404: gone already, which is what we wanted.
        observe(observer_, "niosxaas_delete_service",
                result.ok() && result.response->status == 404 ? ProviderCallOutcome::ok : seen);
        if (!result.ok()) {
            errors.push_back("delete \"" + s.name + "\": " + result.error->message);
        } else if (const long status = result.response->status;
                   status == 200 || status == 204 || status == 404) {
            ++cleaned;  // 404: gone already, which is what we wanted
            spdlog::info("niosxaas: deleted service \"{}\" ({}) in {}", s.name, s.id, external_id);
        } else {
            errors.push_back("delete \"" + s.name + "\": HTTP " + std::to_string(status) + ": " +
                             excerpt(result.response->body));
        }
    }
    if (!errors.empty()) {
        std::string reason = std::to_string(errors.size()) + " of " + std::to_string(matched->size()) +
                             " service deletions failed: " + errors.front();
        return failed(std::move(reason), cleaned, std::move(names));
    }
    return {CleanupOutcome::cleaned, cleaned, std::move(names), {}};
}

}  // namespace broker
