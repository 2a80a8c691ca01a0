#include "http/router.hpp"

#include <stdexcept>

namespace broker {
namespace {

// Splits "/a/b/c" into its segments; false for paths not starting with '/'.
template <class Visit>
bool for_each_segment(std::string_view path, Visit&& visit) {
    if (path.empty() || path.front() != '/') return false;
    path.remove_prefix(1);
    if (path.empty()) return true;  // "/" has no segments
    for (;;) {
        const auto slash = path.find('/');
        if (!visit(path.substr(0, slash))) return false;
        if (slash == std::string_view::npos) return true;
        path.remove_prefix(slash + 1);
    }
}

bool segments_match(const Route& route, std::string_view path, PathParams& params) {
    params.clear();
    std::size_t i = 0;
    const bool whole = for_each_segment(path, [&](std::string_view segment) {
        if (i == route.segments.size()) return false;
        const auto& expected = route.segments[i++];
        if (expected.is_param) return !segment.empty() && params.add(expected.text, segment);
        return segment == expected.text;
    });
    return whole && i == route.segments.size();
}

}  // namespace

void Router::add(bhttp::verb method, std::string path_template, Access access, Handler handler) {
    Route route{method, std::move(path_template), access, std::move(handler), {}};
    std::size_t param_count = 0;
    const bool ok = for_each_segment(route.path_template, [&](std::string_view segment) {
        if (segment.empty()) return false;
        if (segment.front() == '{') {
            if (segment.size() < 3 || segment.back() != '}') return false;
            if (++param_count > PathParams::kMax) return false;
            route.segments.push_back({std::string(segment.substr(1, segment.size() - 2)), true});
        } else {
            if (segment.find_first_of("{}") != std::string_view::npos) return false;
            route.segments.push_back({std::string(segment), false});
        }
        return true;
    });
    if (!ok) throw std::invalid_argument("malformed route template: " + route.path_template);
    for (const auto& existing : routes_) {
        if (existing.method == method && existing.path_template == route.path_template) {
            throw std::invalid_argument("duplicate route: " + route.path_template);
        }
    }
    routes_.push_back(std::move(route));
}

const Route* Router::route_for_path(std::string_view path) const {
    PathParams scratch;
    for (const auto& route : routes_) {
        if (segments_match(route, path, scratch)) return &route;
    }
    return nullptr;
}

RouteMatch Router::match(bhttp::verb method, std::string_view path, PathParams& params) const {
    RouteMatch result;
    for (const auto& route : routes_) {
        if (route.method != method) continue;
        if (segments_match(route, path, params)) {
            result.route = &route;
            result.path_known = true;
            return result;
        }
    }
    // Slow path, only for misses: does the path exist under another method?
    PathParams scratch;
    for (const auto& route : routes_) {
        if (route.method == method || !segments_match(route, path, scratch)) continue;
        result.path_known = true;
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += to_std(bhttp::to_string(route.method));
    }
    params.clear();
    return result;
}

}  // namespace broker
