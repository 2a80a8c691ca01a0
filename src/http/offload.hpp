// `co_await offload(pool, fn)`: runs blocking `fn` on the BlockingPool and resumes the
// awaiting coroutine on its own executor with fn's result, or rethrows fn's exception there.
// When the pool's queue is full it throws Overloaded (answered 503 with Retry-After), so a
// burst degrades into quick refusals rather than unbounded latency.
#pragma once

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "core/errors.hpp"
#include "http/asio.hpp"
#include "runtime/blocking_pool.hpp"

namespace broker {
namespace offload_detail {

// Owns the coroutine's completion handler while fn runs on a pool thread.
template <class Handler, class Fn, class T>
class Job final : public BlockingPool::Job {
  public:
    Job(Handler handler, Fn fn) : handler_(std::move(handler)), fn_(std::move(fn)) {}

    void run() noexcept override {
        std::exception_ptr error;
        try {
            if constexpr (std::is_void_v<T>) {
                fn_();
                complete(nullptr);
            } else {
                complete(nullptr, fn_());
            }
            return;
        } catch (...) {
            error = std::current_exception();
        }
        // Handed over once the catch block has ended, and moved: this thread keeps no
        // reference to the exception, which the coroutine's thread frees when done with it.
        complete(std::move(error));
    }

    // Hands the outcome back to the coroutine's executor; never resumes it on this thread.
    template <class... Result>
    void complete(std::exception_ptr error, Result&&... result) {
        auto executor = asio::get_associated_executor(handler_);
        if constexpr (std::is_void_v<T>) {
            asio::post(executor, [handler = std::move(handler_), error = std::move(error)]() mutable {
                std::move(handler)(error);
            });
        } else if constexpr (sizeof...(Result) == 0) {
            asio::post(executor, [handler = std::move(handler_), error = std::move(error)]() mutable {
                std::move(handler)(error, T{});
            });
        } else {
            asio::post(executor, [handler = std::move(handler_), error = std::move(error),
                                  value = T(std::forward<Result>(result)...)]() mutable {
                std::move(handler)(error, std::move(value));
            });
        }
    }

  private:
    Handler handler_;
    Fn fn_;
};

template <class T>
struct Initiation {
    BlockingPool* pool;

    template <class Handler, class Fn>
    void operator()(Handler&& handler, Fn&& fn) const {
        using JobType = Job<std::decay_t<Handler>, std::decay_t<Fn>, T>;
        std::unique_ptr<BlockingPool::Job> job =
            std::make_unique<JobType>(std::forward<Handler>(handler), std::forward<Fn>(fn));
        if (!pool->try_submit(job)) {
            static_cast<JobType&>(*job).complete(
                std::make_exception_ptr(Overloaded("blocking-work queue is full")));
        }
    }
};

}  // namespace offload_detail

// Awaitable result of fn() computed on `pool`. fn is moved to the pool thread: capture by
// value whatever it needs that the coroutine might not keep alive.
template <class Fn>
auto offload(BlockingPool& pool, Fn fn) {
    using T = std::invoke_result_t<Fn&>;
    if constexpr (std::is_void_v<T>) {
        return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
            offload_detail::Initiation<T>{&pool}, asio::use_awaitable, std::move(fn));
    } else {
        static_assert(std::is_default_constructible_v<T>, "offload needs a default-constructible result");
        return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, T)>(
            offload_detail::Initiation<T>{&pool}, asio::use_awaitable, std::move(fn));
    }
}

}  // namespace broker
