// Unit tests of fit_descriptor_limit: the connection cap against RLIMIT_NOFILE at start-up.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "http/server.hpp"

namespace broker {
namespace {

TEST(DescriptorLimit, ACapThatFitsIsKeptWithoutAWarning) {
    const DescriptorFit fit = fit_descriptor_limit(16, 16);
    EXPECT_EQ(fit.max_connections, 16u);
    EXPECT_FALSE(fit.warning);
}

TEST(DescriptorLimit, ACapBeyondTheHardLimitIsLoweredAndSaidSo) {
    rlimit limit{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "no hard descriptor limit to exceed";
    const std::size_t too_many = static_cast<std::size_t>(limit.rlim_max) + 1000;
    const DescriptorFit fit = fit_descriptor_limit(too_many, 256);
    ASSERT_TRUE(fit.warning);
    EXPECT_NE(fit.warning->find("MAX_CONNECTIONS"), std::string::npos) << *fit.warning;
    EXPECT_NE(fit.warning->find("RLIMIT_NOFILE"), std::string::npos) << *fit.warning;
    EXPECT_LT(fit.max_connections, static_cast<std::size_t>(limit.rlim_max))
        << "the cap fits the descriptors";
    EXPECT_GT(fit.max_connections, 0u);
    // The soft limit was raised as far as it could go.
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
    EXPECT_EQ(limit.rlim_cur, limit.rlim_max);
}

}  // namespace
}  // namespace broker
