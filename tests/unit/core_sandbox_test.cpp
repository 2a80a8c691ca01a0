// Unit tests of the sandbox model: status names and pool counts.
#include <gtest/gtest.h>

#include <set>

#include "core/sandbox.hpp"

namespace broker {
namespace {

TEST(SandboxStatus, NamesRoundTrip) {
    std::set<std::string_view> names;
    for (auto status : kAllStatuses) {
        const auto name = to_string(status);
        names.insert(name);
        EXPECT_EQ(parse_status(name), status) << name;
    }
    EXPECT_EQ(names.size(), kAllStatuses.size());
    EXPECT_EQ(to_string(SandboxStatus::pending_deletion), "pending_deletion");
    EXPECT_EQ(to_string(SandboxStatus::deletion_failed), "deletion_failed");
}

TEST(SandboxStatus, UnknownNamesDoNotParse) {
    EXPECT_FALSE(parse_status(""));
    EXPECT_FALSE(parse_status("Available"));
    EXPECT_FALSE(parse_status("available "));
    EXPECT_FALSE(parse_status("pending-deletion"));
}

TEST(StatusCounts, TotalIsThePoolWithoutDeletedHistory) {
    StatusCounts counts;
    EXPECT_EQ(counts.total(), 0);
    counts[SandboxStatus::available] = 5;
    counts[SandboxStatus::allocated] = 3;
    counts[SandboxStatus::pending_deletion] = 2;
    counts[SandboxStatus::stale] = 1;
    counts[SandboxStatus::deletion_failed] = 4;
    counts[SandboxStatus::deleted] = 1000;
    EXPECT_EQ(counts.total(), 15);
    EXPECT_EQ(counts[SandboxStatus::deleted], 1000);
}

TEST(Sandbox, DefaultsAreAFreshAvailableRecord) {
    Sandbox s;
    EXPECT_EQ(s.status, SandboxStatus::available);
    EXPECT_EQ(s.version, 1);
    EXPECT_FALSE(s.allocated_at);
    EXPECT_TRUE(s.name.empty());
}

}  // namespace
}  // namespace broker
