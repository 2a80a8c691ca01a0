#include "http/middleware/access_log.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace broker {

void AccessLog::on_response(const RequestContext& ctx, Response& res) {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ctx.started);
    const std::string_view method = to_std(ctx.request.method_string());
    // Paths come from the client: cap them so a hostile one cannot flood the log.
    const std::string_view path = ctx.path.substr(0, 200);
    spdlog::debug("{} {} {} {}us id={}", method.empty() ? "-" : method, path.empty() ? "-" : path,
                  res.result_int(), micros.count(), ctx.request_id);
}

}  // namespace broker
