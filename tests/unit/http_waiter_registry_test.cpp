// WaiterRegistry: first come, first served per prefix, the bound, leaving (timeout or a
// client gone), a repeat sharing its place, wake-ups not lost while a waiter is busy, the
// test clock's nudge, close.
// The registry holds no timer: each waiter's `wake` here counts the wake-ups it got.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "http/waiter_registry.hpp"

namespace broker {
namespace {

struct Waiters {
    explicit Waiters(std::size_t max = 100) : registry(max) {}

    std::shared_ptr<WaiterRegistry::Ticket> enter(const std::string& name, const std::string& prefix = "",
                                                  const std::string& key = "") {
        return registry.enter(prefix, name, key.empty() ? name : key, [this, name] { ++wakes[name]; });
    }

    WaiterRegistry registry;
    std::map<std::string, int> wakes;
};

TEST(WaiterRegistry, OnlyTheOldestOfAQueueIsWokenAndItPassesTheTurnOnWhenServed) {
    Waiters w;
    const auto a = w.enter("a");
    const auto b = w.enter("b");
    const auto c = w.enter("c");
    EXPECT_TRUE(w.registry.at_head(a));
    EXPECT_FALSE(w.registry.at_head(b));

    w.registry.wake_heads();
    EXPECT_EQ(w.wakes["a"], 1);
    EXPECT_EQ(w.wakes["b"], 0);
    EXPECT_TRUE(w.registry.take_wake(a));
    EXPECT_FALSE(w.registry.take_wake(a));  // taken once

    w.registry.leave(a, /*served=*/true);
    EXPECT_EQ(w.wakes["b"], 1) << "the next one tries: more may have appeared";
    EXPECT_TRUE(w.registry.at_head(b));
    EXPECT_EQ(w.wakes["c"], 0);
    EXPECT_EQ(w.registry.size(), 2u);
}

TEST(WaiterRegistry, ALeaverThatWasNotServedWakesNobody) {
    Waiters w;
    const auto a = w.enter("a");
    const auto b = w.enter("b");
    w.registry.leave(a, /*served=*/false);  // timed out or gone
    EXPECT_EQ(w.wakes["b"], 0);
    EXPECT_TRUE(w.registry.at_head(b));
    w.registry.leave(a, false);  // leaving twice changes nothing
    EXPECT_EQ(w.registry.size(), 1u);
}

TEST(WaiterRegistry, AWaiterInTheMiddleLeavesWithoutTouchingTheOrder) {
    Waiters w;
    const auto a = w.enter("a");
    const auto b = w.enter("b");
    const auto c = w.enter("c");
    w.registry.leave(b, false);  // its client went away
    w.registry.leave(a, true);
    EXPECT_EQ(w.wakes["b"], 0);
    EXPECT_EQ(w.wakes["c"], 1);
    EXPECT_TRUE(w.registry.at_head(c));
}

TEST(WaiterRegistry, EachPrefixHasItsOwnQueue) {
    Waiters w;
    const auto any = w.enter("any", "");
    const auto lab_a1 = w.enter("a1", "lab-a");
    const auto lab_a2 = w.enter("a2", "lab-a");
    const auto lab_b = w.enter("b1", "lab-b");
    EXPECT_TRUE(w.registry.at_head(any));
    EXPECT_TRUE(w.registry.at_head(lab_a1));
    EXPECT_FALSE(w.registry.at_head(lab_a2));
    EXPECT_TRUE(w.registry.at_head(lab_b));

    w.registry.wake_heads();  // one try per queue, not per waiter
    EXPECT_EQ(w.wakes["any"], 1);
    EXPECT_EQ(w.wakes["a1"], 1);
    EXPECT_EQ(w.wakes["a2"], 0);
    EXPECT_EQ(w.wakes["b1"], 1);
}

TEST(WaiterRegistry, BeyondTheBoundNoOneMoreWaits) {
    Waiters w(2);
    const auto a = w.enter("a");
    const auto b = w.enter("b");
    EXPECT_EQ(w.enter("c"), nullptr);
    EXPECT_EQ(w.registry.size(), 2u);
    w.registry.leave(a, false);
    EXPECT_NE(w.enter("c"), nullptr) << "a place freed is a place to take";
}

TEST(WaiterRegistry, ARepeatWithTheSameKeySharesThePlace) {
    Waiters w;
    const auto first = w.registry.enter("", "p1", "k1", [&] { ++w.wakes["first"]; });
    const auto other = w.enter("other");
    const auto repeat = w.registry.enter("", "p1", "k1", [&] { ++w.wakes["repeat"]; });
    ASSERT_NE(repeat, nullptr);
    EXPECT_EQ(w.registry.size(), 3u) << "three requests wait";
    EXPECT_EQ(w.registry.places(), 2u) << "in two places";
    EXPECT_TRUE(w.registry.at_head(repeat)) << "the repeat is where the first one is, ahead of `other`";

    w.registry.wake_heads();
    EXPECT_EQ(w.wakes["first"], 1);
    EXPECT_EQ(w.wakes["repeat"], 1);
    EXPECT_EQ(w.wakes["other"], 0);

    // The first is served; the repeat, still there, is woken to take the same answer, and
    // the place is still the head: `other` does not move up yet.
    w.registry.leave(first, true);
    EXPECT_EQ(w.wakes["repeat"], 2);
    EXPECT_FALSE(w.registry.at_head(other));
    w.registry.leave(repeat, true);
    EXPECT_TRUE(w.registry.at_head(other));
    EXPECT_EQ(w.wakes["other"], 1);
}

TEST(WaiterRegistry, TheSameParticipantWithAnotherKeyWaitsInAPlaceOfItsOwn) {
    Waiters w;
    const auto a = w.registry.enter("", "p1", "k1", [] {});
    const auto b = w.registry.enter("", "p1", "k2", [] {});
    EXPECT_EQ(w.registry.places(), 2u);
    EXPECT_FALSE(w.registry.at_head(b));
}

TEST(WaiterRegistry, AWakeWhileBusyIsKeptForTheNextLook) {
    Waiters w;
    const auto a = w.enter("a");
    EXPECT_FALSE(w.registry.take_wake(a));
    w.registry.wake_heads();  // arrives while `a` is at the store
    w.registry.wake_heads();
    EXPECT_TRUE(w.registry.take_wake(a));
    EXPECT_FALSE(w.registry.take_wake(a));
}

TEST(WaiterRegistry, ANudgeWakesEveryWaiterToLookAgainButSendsNoneToTheStore) {
    Waiters w;
    const auto a = w.enter("a");
    const auto b = w.enter("b");
    const auto c = w.enter("c", "lab");
    w.registry.nudge_all();  // the test clock moved: deadlines are looked at again
    EXPECT_EQ(w.wakes["a"], 1);
    EXPECT_EQ(w.wakes["b"], 1);
    EXPECT_EQ(w.wakes["c"], 1);
    for (const auto& t : {a, b, c}) EXPECT_FALSE(w.registry.take_wake(t)) << "no store call follows a nudge";
    EXPECT_TRUE(w.registry.at_head(a)) << "the order is untouched";
    EXPECT_EQ(w.registry.size(), 3u);
}

TEST(WaiterRegistry, CloseWakesEveryoneAndRefusesNewWaiters) {
    Waiters w;
    const auto a = w.enter("a");
    const auto b = w.enter("b", "lab");
    const auto c = w.enter("c");
    w.registry.close();
    EXPECT_TRUE(w.registry.closed());
    EXPECT_EQ(w.wakes["a"], 1);
    EXPECT_EQ(w.wakes["b"], 1);
    EXPECT_EQ(w.wakes["c"], 1);
    EXPECT_EQ(w.enter("d"), nullptr);
    for (const auto& t : {a, b, c}) w.registry.leave(t, false);
    EXPECT_EQ(w.registry.size(), 0u);
    EXPECT_EQ(w.registry.places(), 0u);
}

}  // namespace
}  // namespace broker
