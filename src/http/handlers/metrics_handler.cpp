#include "http/handlers/metrics_handler.hpp"

#include "http/auth.hpp"
#include "http/error_response.hpp"
#include "http/offload.hpp"
#include "obs/exposition.hpp"

namespace broker {

void MetricsHandler::add_routes(Router& router) {
    router.add(bhttp::verb::get, "/metrics", Access::open,
               [this](RequestContext& ctx) { return metrics(ctx); });
}

asio::awaitable<Response> MetricsHandler::metrics(RequestContext& ctx) {
    ctx.action = "metrics";
    if (!token_.empty()) {
        const auto presented = parse_bearer(to_std(ctx.request[bhttp::field::authorization]));
        if (!presented || !constant_time_equal(*presented, token_)) {
            co_return error_response(ErrorCode::unauthorized, "/metrics needs the metrics token",
                                     ctx.request_id);
        }
    }
    auto render = [shared = &render_] { return shared->get(); };
    const std::shared_ptr<const std::string> body = co_await offload(pool_, std::move(render));
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, to_beast(kExpositionContentType));
    res.body() = *body;
    co_return res;
}

std::shared_ptr<const std::string> CoalescedRender::get() {
    std::unique_lock lock(mutex_);
    // The render that starts next is the first one fresh enough for this caller.
    const std::uint64_t needed = started_ + 1;
    for (;;) {
        if (finished_ >= needed) return latest_;
        if (!rendering_) {
            rendering_ = true;
            const std::uint64_t mine = ++started_;
            lock.unlock();
            std::shared_ptr<const std::string> text;
            try {
                text = std::make_shared<const std::string>(render_());
            } catch (...) {
                // The waiters wake up and one of them tries again.
                lock.lock();
                rendering_ = false;
                finished_render_.notify_all();
                throw;
            }
            lock.lock();
            rendering_ = false;
            latest_ = std::move(text);
            finished_ = mine;
            finished_render_.notify_all();
            continue;
        }
        ++waiting_;
        finished_render_.wait(lock);
        --waiting_;
    }
}

std::size_t CoalescedRender::waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
}

}  // namespace broker
