// The allocator behind the real binary's malloc, as `version` reports it: mimalloc when the
// build links it (a linker that dropped the library, or a malloc that does not return its
// memory, would make it say "system malloc"), glibc's otherwise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

TEST(Allocator, VersionNamesTheAllocatorTheBuildLinks) {
    TempDir dir;
    const auto json = run_broker_command({"version", "--json"}, serving_env(), dir.path());
    ASSERT_EQ(json.exit_code, 0) << json.err;
    const std::string allocator = nlohmann::json::parse(json.out).at("allocator").get<std::string>();
    const std::string expected = BROKER_EXPECTED_ALLOCATOR;
    if (expected == "mimalloc") {
        EXPECT_EQ(allocator.rfind("mimalloc ", 0), 0u) << allocator;
    } else {
        EXPECT_EQ(allocator, expected);
    }

    const auto text = run_broker_command({"version"}, serving_env(), dir.path());
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("\nallocator " + allocator + "\n"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace broker::e2e
