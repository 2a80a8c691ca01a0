// The lease extension's body: see extend_request.hpp.
#include "http/handlers/extend_request.hpp"

#include <nlohmann/json.hpp>

namespace broker {

std::variant<std::int64_t, std::string> parse_extend_body(std::string_view body) {
    const std::string range =
        "\"seconds\" must be a whole number of seconds from 1 to " + std::to_string(kMaxExtendSeconds);
    const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return std::string("the body must be JSON: {\"seconds\": S}");
    if (!json.is_object()) return std::string("the body must be a JSON object: {\"seconds\": S}");
    const auto it = json.find("seconds");
    if (it == json.end()) return std::string("\"seconds\" is required: {\"seconds\": S}");
    // Only a JSON integer: 1.5, 3600.0, "60", true and null are refused alike.
    if (it->is_number_unsigned()) {
        const auto value = it->get<std::uint64_t>();
        if (value < 1 || value > static_cast<std::uint64_t>(kMaxExtendSeconds)) return range;
        return static_cast<std::int64_t>(value);
    }
    if (it->is_number_integer()) {
        const auto value = it->get<std::int64_t>();
        if (value < 1 || value > kMaxExtendSeconds) return range;
        return value;
    }
    return range;
}

}  // namespace broker
