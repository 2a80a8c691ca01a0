// BlockingPool bounds and offload(): results and exceptions come back to the coroutine on
// its own executor, and a full queue is refused at once with Overloaded.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <stdexcept>
#include <thread>

#include "core/errors.hpp"
#include "http/offload.hpp"
#include "runtime/blocking_pool.hpp"

namespace broker {
namespace {

using namespace std::chrono_literals;

// Runs an io_context on its own thread for the duration of a test.
class IoThread {
  public:
    IoThread() : work_(asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}
    ~IoThread() {
        work_.reset();
        ioc_.stop();
        thread_.join();
    }
    asio::io_context& ioc() { return ioc_; }
    std::thread::id id() const { return thread_.get_id(); }

  private:
    asio::io_context ioc_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
};

// Holds the pool's workers until released, so the queue can be filled deterministically.
struct Gate {
    std::promise<void> opened;
    std::shared_future<void> open = opened.get_future().share();
    void release() { opened.set_value(); }
};

TEST(BlockingPool, RunsSubmittedWork) {
    BlockingPool pool(2, 8);
    std::promise<int> result;
    ASSERT_TRUE(pool.try_submit([&] { result.set_value(42); }));
    auto f = result.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f.get(), 42);
}

TEST(BlockingPool, FullQueueRejectsAtOnceAndKeepsTheJob) {
    BlockingPool pool(1, 2);
    Gate gate;
    std::latch started(1);
    ASSERT_TRUE(pool.try_submit([&] {
        started.count_down();
        gate.open.wait();
    }));
    started.wait();  // the only worker is now busy; the queue is empty
    std::atomic<int> ran{0};
    EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
    EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
    EXPECT_EQ(pool.queued(), 2u);

    struct Marker final : BlockingPool::Job {
        void run() noexcept override {}
    };
    std::unique_ptr<BlockingPool::Job> job = std::make_unique<Marker>();
    const auto* raw = job.get();
    EXPECT_FALSE(pool.try_submit(job));
    EXPECT_EQ(job.get(), raw) << "a refused job stays with the caller";

    gate.release();
    pool.stop();  // runs what was queued, then joins
    EXPECT_EQ(ran.load(), 2);
    EXPECT_FALSE(pool.try_submit([] {})) << "a stopped pool refuses work";
}

TEST(BlockingPool, ValidatesThreadCount) {
    EXPECT_THROW(BlockingPool(0, 1), std::invalid_argument);
}

TEST(Offload, ReturnsTheResultOnTheCallersExecutor) {
    IoThread io;
    BlockingPool pool(2, 8);
    auto coroutine = [&]() -> asio::awaitable<std::pair<int, bool>> {
        auto compute = [] {
            EXPECT_NE(std::this_thread::get_id(), std::thread::id());
            return 6 * 7;
        };
        const int value = co_await offload(pool, std::move(compute));
        co_return std::pair{value, std::this_thread::get_id() == io.id()};
    };
    auto f = asio::co_spawn(io.ioc(), coroutine(), asio::use_future);
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    const auto [value, resumed_on_io_thread] = f.get();
    EXPECT_EQ(value, 42);
    EXPECT_TRUE(resumed_on_io_thread);
}

TEST(Offload, RunsOffTheIoThread) {
    IoThread io;
    BlockingPool pool(1, 8);
    auto coroutine = [&]() -> asio::awaitable<std::thread::id> {
        auto where = [] { return std::this_thread::get_id(); };
        co_return co_await offload(pool, std::move(where));
    };
    auto f = asio::co_spawn(io.ioc(), coroutine(), asio::use_future);
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_NE(f.get(), io.id());
}

TEST(Offload, RethrowsTheWorkersException) {
    IoThread io;
    BlockingPool pool(1, 8);
    auto coroutine = [&]() -> asio::awaitable<int> {
        auto fail = []() -> int { throw StoreUnavailable("disk on fire"); };
        co_return co_await offload(pool, std::move(fail));
    };
    auto f = asio::co_spawn(io.ioc(), coroutine(), asio::use_future);
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    try {
        f.get();
        FAIL() << "expected StoreUnavailable";
    } catch (const StoreUnavailable& e) {
        EXPECT_STREQ(e.what(), "disk on fire");
    }
}

TEST(Offload, VoidWorkCompletes) {
    IoThread io;
    BlockingPool pool(1, 8);
    std::atomic<bool> done{false};
    auto coroutine = [&]() -> asio::awaitable<void> {
        auto work = [&done] { done = true; };
        co_await offload(pool, std::move(work));
    };
    auto f = asio::co_spawn(io.ioc(), coroutine(), asio::use_future);
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    f.get();
    EXPECT_TRUE(done.load());
}

TEST(Offload, FullQueueThrowsOverloaded) {
    IoThread io;
    // Before the pool: its end joins the worker, which may still be inside gate.open.wait().
    Gate gate;
    std::latch started(1);
    BlockingPool pool(1, 1);
    ASSERT_TRUE(pool.try_submit([&] {
        started.count_down();
        gate.open.wait();
    }));
    started.wait();
    ASSERT_TRUE(pool.try_submit([] {}));  // fills the queue

    auto coroutine = [&]() -> asio::awaitable<int> {
        auto never = [] { return 1; };
        co_return co_await offload(pool, std::move(never));
    };
    auto f = asio::co_spawn(io.ioc(), coroutine(), asio::use_future);
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready) << "a full queue must refuse at once, not wait";
    EXPECT_THROW(f.get(), Overloaded);
    gate.release();
}

}  // namespace
}  // namespace broker
