#include "http/middleware/request_metrics.hpp"

#include <array>

#include "http/middleware/access_log.hpp"

namespace broker {
namespace {

// Statuses this service answers; anything else takes the (correct, slower) look-up path.
constexpr std::array<int, 16> kStatuses = {200, 201, 204, 400, 401, 403, 404, 405,
                                           409, 413, 429, 431, 500, 503, 408, 302};
constexpr std::size_t kVerbs = static_cast<std::size_t>(bhttp::verb::unlink) + 1;

std::size_t status_index(int status) {
    for (std::size_t i = 0; i < kStatuses.size(); ++i) {
        if (kStatuses[i] == status) return i;
    }
    return kStatuses.size();
}

// Unknown methods (any token the parser accepts) share one label.
std::string_view method_label(const RequestContext& ctx) {
    const auto verb = ctx.request.method();
    if (verb == bhttp::verb::unknown) return ctx.request.method_string().empty() ? "NONE" : "OTHER";
    return to_std(bhttp::to_string(verb));
}

}  // namespace

RequestMetrics::RequestMetrics(ApiMetrics& metrics, const Router& router)
    : metrics_(metrics), router_(router) {
    std::size_t index = 0;
    for (const auto& route : router.routes()) route_index_.emplace(&route, index++);
    const std::size_t rows = route_index_.size() + kVerbs;
    slots_ = std::make_unique<std::atomic<Histogram*>[]>(rows * kStatuses.size());
}

std::size_t RequestMetrics::slot(const RequestContext& ctx, int status) const {
    const std::size_t column = status_index(status);
    if (column == kStatuses.size()) return std::string::npos;
    std::size_t row;
    if (ctx.route) {
        const auto it = route_index_.find(ctx.route);
        if (it == route_index_.end()) return std::string::npos;
        row = it->second;
    } else {
        // Unknown methods (and refused requests, which have none) are rare: slow path.
        if (ctx.request.method() == bhttp::verb::unknown) return std::string::npos;
        row = route_index_.size() + static_cast<std::size_t>(ctx.request.method());
    }
    return row * kStatuses.size() + column;
}

Histogram& RequestMetrics::resolve(std::size_t slot, std::string_view method, std::string_view endpoint,
                                         int status) {
    std::lock_guard lock(resolve_mutex_);
    if (Histogram* ready = slots_[slot].load(std::memory_order_acquire)) return *ready;
    const std::string status_text = std::to_string(status);
    resolved_.push_back(metrics_.request_latency.with_labels({method, endpoint, status_text}));
    slots_[slot].store(&resolved_.back(), std::memory_order_release);
    return resolved_.back();
}

void RequestMetrics::on_response(const RequestContext& ctx, Response& res) {
    const int status = static_cast<int>(res.result_int());
    const auto latency = std::chrono::steady_clock::now() - ctx.started;
    const std::string_view endpoint = endpoint_label(ctx, &router_);
    // A request that matched no route but has a known path (a 405) is labelled by that path's
    // template, which the per-method slots of unmatched requests cannot tell apart: slow path.
    const std::size_t index =
        !ctx.route && endpoint != kUnmatchedEndpoint ? std::string::npos : slot(ctx, status);
    if (index == std::string::npos) {
        metrics_.observe_request(method_label(ctx), endpoint, status, latency);
        return;
    }
    Histogram* histogram = slots_[index].load(std::memory_order_acquire);
    if (!histogram) histogram = &resolve(index, method_label(ctx), endpoint, status);
    histogram->observe_duration(latency);
}

}  // namespace broker
