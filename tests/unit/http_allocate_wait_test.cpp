// How an allocation asks to wait (Prefer: wait=N, ?wait=N) and the settings that bound it.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "http/allocate_wait.hpp"
#include "unit/support/env_of.hpp"

using broker::testing::env_of;

namespace broker {
namespace {

using std::chrono::seconds;

TEST(AllocateWait, PreferWaitIsReadAmongOtherPreferences) {
    EXPECT_EQ(read_wait("wait=30", std::nullopt).wait, seconds(30));
    EXPECT_EQ(read_wait("respond-async, wait=5", std::nullopt).wait, seconds(5));
    EXPECT_EQ(read_wait("handling=lenient; x=1 ,  WAIT = 7 ", std::nullopt).wait, seconds(7));
    EXPECT_EQ(read_wait("wait=\"12\"", std::nullopt).wait, seconds(12));
    EXPECT_EQ(read_wait("wait=0", std::nullopt).wait, seconds(0));
}

TEST(AllocateWait, NoWaitAskedWhenThePreferenceIsAbsent) {
    const WaitAsked none = read_wait("", std::nullopt);
    EXPECT_FALSE(none.wait);
    EXPECT_FALSE(none.error);
    // Unknown preferences are ignored (RFC 7240 §2), including ones that merely start like wait.
    const WaitAsked other = read_wait("return=minimal, waiting=5", std::nullopt);
    EXPECT_FALSE(other.wait);
    EXPECT_FALSE(other.error);
}

TEST(AllocateWait, AMalformedWaitIsAnError) {
    for (const char* bad : {"wait", "wait=", "wait=-1", "wait=1.5", "wait=soon", "wait=1 0"}) {
        const WaitAsked asked = read_wait(bad, std::nullopt);
        EXPECT_FALSE(asked.wait) << bad;
        EXPECT_TRUE(asked.error) << bad;
    }
    EXPECT_TRUE(read_wait("", std::string("x")).error);
    EXPECT_TRUE(read_wait("", std::string("")).error);
}

TEST(AllocateWait, TheQueryParameterWinsOverPrefer) {
    EXPECT_EQ(read_wait("wait=30", std::string("4")).wait, seconds(4));
    EXPECT_EQ(read_wait("wait=oops", std::string("4")).wait, seconds(4));
}

TEST(AllocateWait, AHugeValueSaturatesInsteadOfOverflowing) {
    EXPECT_EQ(read_wait("wait=99999999999999999999999", std::nullopt).wait, seconds(86'400));
}

TEST(AllocateWait, SettingsHaveDefaultsAndBounds) {
    const AllocateWaitOptions defaults = load_allocate_wait_options(env_of({}));
    EXPECT_EQ(defaults.max_wait, seconds(60));
    EXPECT_EQ(defaults.max_waiters, 10'000u);
    EXPECT_EQ(defaults.poll, std::chrono::milliseconds(1500));
    const AllocateWaitOptions set = load_allocate_wait_options(env_of(
        {{"ALLOCATE_MAX_WAIT_SEC", "0"}, {"ALLOCATE_MAX_WAITERS", "5"}, {"ALLOCATE_WAIT_POLL_MS", "200"}}));
    EXPECT_EQ(set.max_wait, seconds(0));
    EXPECT_EQ(set.max_waiters, 5u);
    EXPECT_EQ(set.poll, std::chrono::milliseconds(200));
    EXPECT_THROW(load_allocate_wait_options(env_of({{"ALLOCATE_MAX_WAIT_SEC", "-1"}})), ConfigError);
    EXPECT_THROW(load_allocate_wait_options(env_of({{"ALLOCATE_WAIT_POLL_MS", "10"}})), ConfigError);
}

}  // namespace
}  // namespace broker
