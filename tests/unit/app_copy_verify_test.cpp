// copy's verification (compare_listings): a sandbox the target's list does not show yet, or
// shows in its old status, is read again and counted where it is; one the target really lacks
// or holds in another status is missing.
#include <gtest/gtest.h>

#include <map>

#include "app/copy_command.hpp"

namespace broker {
namespace {

const StatusCheck& check_of(const std::vector<StatusCheck>& checks, SandboxStatus status) {
    return checks.at(static_cast<std::size_t>(status));
}

TEST(CopyVerify, ASandboxTheListDoesNotShowYetIsReadAgainAndFound) {
    const Listing source{{"a", SandboxStatus::available}, {"b", SandboxStatus::allocated}};
    const Listing listed{{"a", SandboxStatus::available}};  // the index has not caught up with b
    std::vector<std::string> reads;
    const auto checks = compare_listings(source, listed, [&](const std::string& id) {
        reads.push_back(id);
        return std::optional(SandboxStatus::allocated);
    });
    EXPECT_EQ(reads, std::vector<std::string>{"b"});  // only what the list disagrees on
    EXPECT_EQ(check_of(checks, SandboxStatus::allocated).source, 1);
    EXPECT_EQ(check_of(checks, SandboxStatus::allocated).target, 1);
    EXPECT_EQ(check_of(checks, SandboxStatus::allocated).missing, 0);
    EXPECT_EQ(check_of(checks, SandboxStatus::available).target, 1);
}

TEST(CopyVerify, ASandboxListedInItsOldStatusIsCountedWhereItIs) {
    const Listing source{{"b", SandboxStatus::pending_deletion}};
    const Listing listed{{"b", SandboxStatus::available}};
    const auto checks = compare_listings(
        source, listed, [](const std::string&) { return std::optional(SandboxStatus::pending_deletion); });
    EXPECT_EQ(check_of(checks, SandboxStatus::available).target, 0);
    EXPECT_EQ(check_of(checks, SandboxStatus::pending_deletion).target, 1);
    EXPECT_EQ(check_of(checks, SandboxStatus::pending_deletion).missing, 0);
}

TEST(CopyVerify, ASandboxTheTargetLacksOrHoldsInAnotherStatusIsMissing) {
    const Listing source{{"gone", SandboxStatus::allocated}, {"other", SandboxStatus::allocated}};
    const Listing listed{{"other", SandboxStatus::available}};
    const std::map<std::string, SandboxStatus> really{{"other", SandboxStatus::available}};
    const auto checks =
        compare_listings(source, listed, [&](const std::string& id) -> std::optional<SandboxStatus> {
            const auto it = really.find(id);
            if (it == really.end()) return std::nullopt;
            return it->second;
        });
    EXPECT_EQ(check_of(checks, SandboxStatus::allocated).source, 2);
    EXPECT_EQ(check_of(checks, SandboxStatus::allocated).target, 0);
    EXPECT_EQ(check_of(checks, SandboxStatus::allocated).missing, 2);
    EXPECT_EQ(check_of(checks, SandboxStatus::available).target, 1);
}

}  // namespace
}  // namespace broker
