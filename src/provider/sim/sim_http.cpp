#include "provider/sim/sim_http.hpp"

#include <strings.h>

#include "http/auth.hpp"

namespace broker::sim {
namespace {

constexpr std::string_view kOutagePage =
    "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
    "<body><h1>Internal Server Error</h1><p>The server encountered an internal error and was unable to "
    "complete your request.</p></body></html>\n";

}  // namespace

Response json_reply(bhttp::status status, const nlohmann::json& body) {
    Response res{status, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return res;
}

Response error_reply(bhttp::status status, std::string_view message) {
    return json_reply(status, {{"error", nlohmann::json::array({{{"message", message}}})}});
}

Response no_content() {
    return Response{bhttp::status::no_content, 11};
}

std::optional<nlohmann::json> json_object_body(const Request& request) {
    auto body = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) return std::nullopt;
    return body;
}

std::string_view credential(const Request& request, std::string_view scheme) {
    const std::string_view value = to_std(request[bhttp::field::authorization]);
    if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return {};
    if (strncasecmp(value.data(), scheme.data(), scheme.size()) != 0) return {};
    std::string_view rest = value.substr(scheme.size() + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return rest;
}

bool has_credential(const Request& request, std::string_view scheme, std::string_view expected) {
    const std::string_view given = credential(request, scheme);
    return !given.empty() && constant_time_equal(given, expected);
}

asio::awaitable<std::optional<Response>> apply_faults(FaultInjector& faults) {
    // Beyond capacity the answer comes at once, as a loaded provider's front end refuses.
    const std::optional<Fault> refused = faults.admit(std::chrono::steady_clock::now());
    const auto latency = faults.latency();
    if (!refused && latency.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, latency);
        boost::system::error_code ec;  // cancelled at shutdown: answer at once
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    switch (refused ? *refused : faults.draw()) {
        case Fault::none:
            co_return std::nullopt;
        case Fault::throttled: {
            Response res = error_reply(bhttp::status::too_many_requests, "rate limit exceeded");
            res.set(bhttp::field::retry_after, std::to_string(faults.settings().retry_after_sec));
            co_return res;
        }
        case Fault::server_error: {
            Response res{bhttp::status::internal_server_error, 11};
            res.set(bhttp::field::content_type, "text/html; charset=utf-8");
            res.body() = std::string(kOutagePage);
            co_return res;
        }
    }
    co_return std::nullopt;
}

}  // namespace broker::sim
