// `co_await store_callback<T>(start)`: awaits a store write that calls back (store/async_writes.hpp)
// instead of blocking a thread. `start(done)` begins the write; `done(error, result)`, called
// once on the store's thread, resumes the coroutine on its own executor. When `start` throws
// (a full write queue: Overloaded), the coroutine gets that exception.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <utility>

#include "http/asio.hpp"

namespace broker {
namespace store_callback_detail {

template <class T>
struct Initiation {
    template <class Handler, class Start>
    void operator()(Handler&& handler, Start&& start) const {
        // std::function wants a copyable callback; the handler is move-only, so it lives
        // behind a shared pointer, moved out by the one call.
        auto held = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
        auto executor = asio::get_associated_executor(*held);
        std::function<void(std::exception_ptr, T)> done = [held, executor](std::exception_ptr error,
                                                                           T result) {
            asio::post(executor, [held, error, result = std::move(result)]() mutable {
                std::move (*held)(error, std::move(result));
            });
        };
        try {
            start(std::move(done));
        } catch (...) {
            asio::post(executor,
                       [held, error = std::current_exception()]() mutable { std::move (*held)(error, T{}); });
        }
    }
};

}  // namespace store_callback_detail

template <class T, class Start>
auto store_callback(Start start) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, T)>(
        store_callback_detail::Initiation<T>{}, asio::use_awaitable, std::move(start));
}

}  // namespace broker
