#include "app/healthcheck.hpp"

#include <iostream>

#include "core/config.hpp"
#include "http/server.hpp"
#include "runtime/http_client.hpp"

namespace broker {

std::string default_healthcheck_url(const EnvLookup& env) {
    std::string listen = Config{}.listen;
    if (auto metrics = env_text(env, "METRICS_LISTEN"); metrics && !metrics->empty()) {
        listen = *metrics;
    } else if (auto api = env_text(env, "BROKER_LISTEN"); api && !api->empty()) {
        listen = *api;
    }
    return local_url(listen) + "/healthz";
}

std::string local_url(const std::string& listen) {
    const auto endpoint = parse_listen_address(listen);
    auto address = endpoint.address();
    if (address.is_unspecified()) {
        address = address.is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                  : asio::ip::address(asio::ip::address_v4::loopback());
    }
    return endpoint_url({address, endpoint.port()});
}

HealthcheckResult check_health(const std::string& url, std::chrono::milliseconds timeout) {
    HttpClientOptions options;
    options.connect_timeout = timeout;
    options.total_timeout = timeout;
    options.max_body_bytes = 64 * 1024;
    options.user_agent = "sandbox-broker-healthcheck";
    const HttpClient client(options);
    HttpRequest request;
    request.url = url;
    const HttpResult result = client.perform(request);
    const std::string took = " in " + std::to_string(result.elapsed.count()) + " ms";
    if (!result.response) {
        const std::string why = result.error ? result.error->message : "no answer";
        return {false, "unhealthy: GET " + url + " failed: " + why};
    }
    const long status = result.response->status;
    if (status == 200) return {true, "healthy: GET " + url + " answered 200" + took};
    return {false, "unhealthy: GET " + url + " answered " + std::to_string(status) + took};
}

int healthcheck_command(const EnvLookup& env, const std::optional<std::string>& url) {
    HealthcheckResult result;
    try {
        result = check_health(url ? *url : default_healthcheck_url(env));
    } catch (const std::exception& e) {
        result = {false, std::string("unhealthy: ") + e.what()};
    }
    std::cout << result.line << std::endl;
    return result.healthy ? 0 : 1;
}

}  // namespace broker
