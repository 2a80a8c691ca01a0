#include "http/openapi/openapi_check.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace broker {

std::vector<std::string> route_document_mismatches(const Router& router, std::string_view document_json) {
    static constexpr std::array kMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
    using Operation = std::pair<std::string, std::string>;  // upper-case method, path template

    std::set<Operation> served;
    for (const auto& route : router.routes()) {
        served.emplace(std::string(to_std(bhttp::to_string(route.method))), route.path_template);
    }
    std::set<Operation> documented;
    const auto document = nlohmann::json::parse(document_json);
    const auto paths = document.value("paths", nlohmann::json::object());
    for (const auto& [path, item] : paths.items()) {
        for (const char* method : kMethods) {
            if (!item.contains(method)) continue;
            std::string upper(method);
            std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return c - 'a' + 'A'; });
            documented.emplace(std::move(upper), path);
        }
    }

    std::vector<std::string> mismatches;
    for (const auto& [method, path] : served) {
        if (!documented.contains({method, path})) {
            mismatches.push_back(method + " " + path + ": served but not in the OpenAPI document");
        }
    }
    for (const auto& [method, path] : documented) {
        if (!served.contains({method, path})) {
            mismatches.push_back(method + " " + path + ": in the OpenAPI document but not served");
        }
    }
    return mismatches;
}

}  // namespace broker
