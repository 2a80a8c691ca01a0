#include "http/cors_policy.hpp"

#include <algorithm>

namespace broker {
namespace {

// Browsers send an origin as scheme://host[:port]; anything with other bytes (control
// characters, spaces, a path) cannot be one and must never be echoed into a header.
bool looks_like_origin(std::string_view origin) {
    if (origin.empty() || origin.size() > 255) return false;
    return std::all_of(origin.begin(), origin.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-' || c == ':' || c == '/' || c == '[' || c == ']';
    });
}

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> origins) : origins_(std::move(origins)) {
    any_ = std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
}

std::string_view CorsPolicy::allow_origin(std::string_view origin) const {
    if (!looks_like_origin(origin)) return {};
    if (any_) return "*";
    for (const auto& allowed : origins_) {
        // Origins compare exactly (scheme and host are lower case as browsers send them).
        if (allowed == origin) return allowed;
    }
    return {};
}

bool CorsPolicy::is_preflight(std::string_view method, std::string_view origin) {
    return method == "OPTIONS" && !origin.empty();
}

}  // namespace broker
