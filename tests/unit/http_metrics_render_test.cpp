// Unit tests of CoalescedRender, the renders /metrics scrapes share: one render at a time
// however many scrapes arrive, and never a render older than the scrape.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "http/handlers/metrics_handler.hpp"

namespace broker {
namespace {

// A render that counts itself and, while `held`, waits to be released.
struct SlowRender {
    std::mutex mutex;
    std::condition_variable changed;
    bool held = true;
    bool first_started = false;
    int renders = 0;

    std::string operator()() {
        std::unique_lock lock(mutex);
        const int number = ++renders;
        first_started = true;
        changed.notify_all();
        changed.wait(lock, [&] { return !held; });
        return "render " + std::to_string(number);
    }
    void release() {
        std::lock_guard lock(mutex);
        held = false;
        changed.notify_all();
    }
    void wait_first_started() {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return first_started; });
    }
};

TEST(CoalescedRender, SequentialCallersEachGetAFreshRender) {
    int renders = 0;
    CoalescedRender shared([&] { return "render " + std::to_string(++renders); });
    EXPECT_EQ(*shared.get(), "render 1");
    EXPECT_EQ(*shared.get(), "render 2") << "a later caller never gets an older render";
    EXPECT_EQ(renders, 2);
}

TEST(CoalescedRender, CallersArrivingDuringARenderShareTheNextOne) {
    SlowRender slow;
    CoalescedRender shared([&] { return slow(); });

    std::string first;
    std::thread starter([&] { first = *shared.get(); });
    slow.wait_first_started();  // render 1 is running and held

    constexpr int kLate = 8;
    std::vector<std::string> late(kLate);
    std::vector<std::thread> callers;
    for (int i = 0; i < kLate; ++i) callers.emplace_back([&, i] { late[i] = *shared.get(); });
    // Every late caller is waiting before render 1 is let go.
    while (shared.waiting() < static_cast<std::size_t>(kLate)) std::this_thread::yield();
    slow.release();

    starter.join();
    for (auto& t : callers) t.join();
    EXPECT_EQ(first, "render 1");
    for (const auto& text : late) EXPECT_EQ(text, "render 2") << "arrived during render 1: needs a later one";
    EXPECT_EQ(slow.renders, 2) << "nine callers, two renders";
}

TEST(CoalescedRender, AFailedRenderFailsItsCallerAndTheNextCallerTriesAgain) {
    int calls = 0;
    CoalescedRender shared([&]() -> std::string {
        if (++calls == 1) throw std::runtime_error("store unavailable");
        return "ok";
    });
    EXPECT_THROW(shared.get(), std::runtime_error);
    EXPECT_EQ(*shared.get(), "ok");
}

}  // namespace
}  // namespace broker
