#include "provider/niosxaas_answers.hpp"

#include <nlohmann/json.hpp>

namespace broker {
namespace {

using nlohmann::json;

json parse_object(std::string_view body) {
    json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) return json();
    return parsed;
}

std::string string_field(const json& entry, const char* name) {
    const auto it = entry.find(name);
    return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool is_json_object(std::string_view body) {
    return parse_object(body).is_object();
}

std::optional<std::string> read_niosxaas_jwt(std::string_view body) {
    const json parsed = parse_object(body);
    if (!parsed.is_object()) return std::nullopt;
    std::string jwt = string_field(parsed, "jwt");
    if (jwt.empty()) return std::nullopt;
    return jwt;
}

std::optional<std::vector<NiosxaasService>> read_niosxaas_services(std::string_view body,
                                                                   std::string_view name_filter) {
    const json parsed = parse_object(body);
    if (!parsed.is_object()) return std::nullopt;
    const auto results = parsed.find("results");
    if (results == parsed.end() || !results->is_array()) return std::nullopt;
    std::vector<NiosxaasService> matched;
    for (const auto& entry : *results) {
        if (!entry.is_object()) continue;
        std::string name = string_field(entry, "name");
        if (name.empty() || name.find(name_filter) == std::string::npos) continue;
        matched.push_back({string_field(entry, "id"), std::move(name)});
    }
    return matched;
}

}  // namespace broker
