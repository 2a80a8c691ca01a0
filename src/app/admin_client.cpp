// The admin API client of the command line: see admin_client.hpp.
#include "app/admin_client.hpp"

#include <curl/curl.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "app/healthcheck.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/excerpt.hpp"

namespace broker {
namespace {

std::string without_trailing_slashes(std::string text) {
    while (text.ends_with('/')) text.pop_back();
    return text;
}

std::string read_token_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("--token-file " + path + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    // One trailing line end, as an editor or `echo` leaves it (the secrets-file convention).
    if (token.ends_with('\n')) token.pop_back();
    if (token.ends_with('\r')) token.pop_back();
    return token;
}

}  // namespace

std::string default_admin_url(const EnvLookup& env) {
    std::string listen = Config{}.listen;
    if (auto api = env_text(env, "BROKER_LISTEN"); api && !api->empty()) listen = *api;
    return local_url(listen);
}

AdminConnection load_admin_connection(const EnvLookup& env, const std::optional<std::string>& url,
                                      const std::optional<std::string>& token_file,
                                      std::chrono::milliseconds timeout) {
    AdminConnection connection;
    if (url) {
        connection.url = *url;
    } else if (auto from_env = env_text(env, "BROKER_URL"); from_env && !from_env->empty()) {
        connection.url = *from_env;
    } else {
        connection.url = default_admin_url(env);
    }
    connection.url = without_trailing_slashes(trim_setting(connection.url));
    const std::string named = url ? "--url" : "BROKER_URL";
    if (!connection.url.starts_with("http://") && !connection.url.starts_with("https://")) {
        throw ConfigError(named + " must start with http:// or https:// (got \"" + connection.url + "\")");
    }
    if (connection.url.find_first_of("?#", 8) != std::string::npos) {
        throw ConfigError(named + " is the broker's address only, without a query or fragment");
    }

    connection.base_path =
        without_trailing_slashes(env_text(env, "BROKER_BASE_PATH").value_or(Config{}.base_path));
    if (!connection.base_path.empty() && !connection.base_path.starts_with('/')) {
        throw ConfigError("BROKER_BASE_PATH must start with / (got \"" + connection.base_path + "\")");
    }

    if (token_file) {
        connection.token = read_token_file(*token_file);
    } else if (auto token = env_text(env, "BROKER_ADMIN_TOKEN")) {
        connection.token = *token;
    }
    if (connection.token.empty()) {
        throw ConfigError(
            "no admin token: give --token-file FILE, or set BROKER_ADMIN_TOKEN (or BROKER_ADMIN_TOKEN_FILE)");
    }
    for (unsigned char c : connection.token) {
        if (c <= 0x20 || c >= 0x7f) {
            throw ConfigError(std::string("the admin token (") +
                              (token_file ? "--token-file" : "BROKER_ADMIN_TOKEN") +
                              ") holds a space or a control character; it cannot go in a header");
        }
    }
    connection.timeout = timeout;
    return connection;
}

AdminRefused::AdminRefused(long status, std::string code, std::string message)
    : std::runtime_error(code + ": " + message),
      status_(status),
      code_(std::move(code)),
      message_(std::move(message)) {}

AdminClient::AdminClient(AdminConnection connection)
    : connection_(std::move(connection)), http_([this] {
          HttpClientOptions options;
          options.connect_timeout = connection_.timeout;
          options.total_timeout = connection_.timeout;
          options.max_body_bytes = 64 * 1024 * 1024;
          options.user_agent = "sandbox-broker-admin";
          return options;
      }()) {}

AdminAnswer AdminClient::call(const std::string& method, const std::string& path) const {
    return exchange(method, connection_.url + connection_.base_path + path, true);
}

AdminAnswer AdminClient::send(const std::string& method, const std::string& path,
                              const nlohmann::ordered_json& body) const {
    return exchange(method, connection_.url + connection_.base_path + path, true, &body);
}

AdminAnswer AdminClient::call_absolute(const std::string& method, const std::string& path) const {
    return exchange(method, connection_.url + path, true);
}

std::set<std::string> AdminClient::documented_parameters(const std::string& method,
                                                         const std::string& path) const {
    const std::string base = connection_.url + connection_.base_path;
    const nlohmann::ordered_json doc = exchange("GET", base + "/openapi.json", false).body;
    std::set<std::string> names;
    const auto& operation =
        json_member(json_member(json_member(doc, "paths"), connection_.base_path + path), method);
    for (const auto& parameter : json_member(operation, "parameters")) {
        if (const auto& name = json_member(parameter, "name"); name.is_string())
            names.insert(name.get<std::string>());
    }
    return names;
}

AdminAnswer AdminClient::exchange(const std::string& method, const std::string& url, bool with_token,
                                  const nlohmann::ordered_json* body) const {
    HttpRequest request;
    request.method = method;
    request.url = url;
    request.headers.emplace_back("Accept", "application/json");
    if (body) {
        request.headers.emplace_back("Content-Type", "application/json");
        request.body = body->dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    if (with_token) request.headers.emplace_back("Authorization", "Bearer " + connection_.token);
    const HttpResult result = http_.perform(request);
    if (!result.response) {
        const std::string why = result.error ? result.error->message : "no answer";
        throw AdminUnreachable("cannot reach the broker at " + connection_.url + ": " + why);
    }
    const HttpResponse& response = *result.response;
    auto answer = nlohmann::ordered_json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (response.status < 200 || response.status >= 300) {
        const auto& error = answer.is_object() ? answer.value("error", nlohmann::ordered_json()) : nullptr;
        if (error.is_object() && error.value("code", nlohmann::ordered_json()).is_string()) {
            throw AdminRefused(response.status, error["code"].get<std::string>(),
                               error.value("message", std::string()));
        }
        throw AdminRefused(response.status, "HTTP_" + std::to_string(response.status),
                           method + " " + url + " answered " + std::to_string(response.status) +
                               (response.body.empty() ? "" : ": " + excerpt(response.body, 200)));
    }
    if (answer.is_discarded()) {
        throw AdminRefused(response.status, "NOT_JSON",
                           method + " " + url + " answered " + std::to_string(response.status) +
                               " without a JSON body (is --url a sandbox-broker?)");
    }
    return {response.status, std::move(answer)};
}

const nlohmann::ordered_json& json_member(const nlohmann::ordered_json& object, const std::string& name) {
    static const nlohmann::ordered_json null;
    if (!object.is_object()) return null;
    const auto it = object.find(name);
    return it == object.end() ? null : *it;
}

std::string url_escape(std::string_view text) {
    std::unique_ptr<char, decltype(&curl_free)> escaped(
        curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size())), &curl_free);
    if (!escaped) throw std::runtime_error("out of memory escaping a URL part");
    return escaped.get();
}

}  // namespace broker
