// The usable-core count (core/cpu_count): the cgroup v2 quota line and the derived defaults.
#include <gtest/gtest.h>

#include "core/cpu_count.hpp"

namespace broker {
namespace {

TEST(CpuCount, AQuotaGrantsItsCoresRoundedUp) {
    EXPECT_EQ(cores_of_cpu_max("200000 100000"), 2);
    EXPECT_EQ(cores_of_cpu_max("150000 100000\n"), 2);
    EXPECT_EQ(cores_of_cpu_max("50000 100000"), 1);
    EXPECT_EQ(cores_of_cpu_max("1000 100000"), 1);
}

TEST(CpuCount, NoQuotaOrMalformedTextIsNoLimit) {
    EXPECT_EQ(cores_of_cpu_max("max 100000"), std::nullopt);
    EXPECT_EQ(cores_of_cpu_max(""), std::nullopt);
    EXPECT_EQ(cores_of_cpu_max("200000"), std::nullopt);
    EXPECT_EQ(cores_of_cpu_max("x 100000"), std::nullopt);
    EXPECT_EQ(cores_of_cpu_max("200000 0"), std::nullopt);
    EXPECT_EQ(cores_of_cpu_max("-5 100000"), std::nullopt);
}

TEST(CpuCount, TheProcessHasAtLeastOneCore) {
    EXPECT_GE(usable_cores(), 1);
}

TEST(CpuCount, OneIoThreadPerTwoCores) {
    EXPECT_EQ(default_http_threads(1), 1);
    EXPECT_EQ(default_http_threads(2), 1);
    EXPECT_EQ(default_http_threads(3), 1);
    EXPECT_EQ(default_http_threads(8), 4);
}

TEST(CpuCount, StoreThreadsScaleWithTheCoresWithinBounds) {
    EXPECT_EQ(default_store_threads(1), 8);
    EXPECT_EQ(default_store_threads(2), 16);
    EXPECT_EQ(default_store_threads(4), 32);
    EXPECT_EQ(default_store_threads(64), 64);
}

TEST(CpuCount, StoreThreadsStayWithinTheStoresConnections) {
    EXPECT_EQ(default_store_threads(1, 16), 8);
    EXPECT_EQ(default_store_threads(2, 16), 16);
    EXPECT_EQ(default_store_threads(4, 16), 16);
    EXPECT_EQ(default_store_threads(8, 16), 16);
    EXPECT_EQ(default_store_threads(8, 4), 4);
    EXPECT_EQ(default_store_threads(64, 1000), 64);
    EXPECT_EQ(default_store_threads(4, 0), 1);  // never none
    EXPECT_EQ(default_store_threads(4, std::nullopt), 32);
}

}  // namespace
}  // namespace broker
