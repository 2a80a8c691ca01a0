// Bearer parsing edge cases, constant-time comparison, and the roles tokens grant.
#include <gtest/gtest.h>

#include "http/auth.hpp"

namespace broker {
namespace {

TEST(ParseBearer, AcceptsTheUsualForms) {
    EXPECT_EQ(parse_bearer("Bearer abc"), "abc");
    EXPECT_EQ(parse_bearer("bearer abc"), "abc");
    EXPECT_EQ(parse_bearer("BEARER abc"), "abc");
    EXPECT_EQ(parse_bearer("Bearer   abc  "), "abc");
    EXPECT_EQ(parse_bearer("  Bearer\tabc"), "abc");
    EXPECT_EQ(parse_bearer("Bearer a.b-c_d~e+f/g="), "a.b-c_d~e+f/g=");
}

TEST(ParseBearer, RefusesEverythingElse) {
    for (std::string_view value : {"", "Bearer", "Bearer ", "Bearer    ", "Bearerabc", "Basic abc",
                                   "Token abc", "abc", "Bearer a b", "Bearer a\x01", "Bear abc"}) {
        EXPECT_FALSE(parse_bearer(value).has_value()) << '"' << value << '"';
    }
}

TEST(ConstantTimeEqual, IsPlainEqualityInResult) {
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_TRUE(constant_time_equal("secret-token", "secret-token"));
    EXPECT_FALSE(constant_time_equal("secret-token", "secret-tokem"));
    EXPECT_FALSE(constant_time_equal("secret-token", "secret-token2"));
    EXPECT_FALSE(constant_time_equal("secret-token", "secret-toke"));
    EXPECT_FALSE(constant_time_equal("", "x"));
    const std::string with_nul("ab\0cd", 5);
    EXPECT_TRUE(constant_time_equal(with_nul, std::string("ab\0cd", 5)));
    EXPECT_FALSE(constant_time_equal(with_nul, "ab"));
}

TEST(Authenticator, GrantsRolesByToken) {
    const Authenticator auth("api-token", "admin-token");
    EXPECT_EQ(auth.authenticate("Bearer api-token"), Role::participant);
    EXPECT_EQ(auth.authenticate("Bearer admin-token"), Role::admin);
    EXPECT_EQ(auth.authenticate("bearer admin-token"), Role::admin);
    EXPECT_EQ(auth.authenticate("Bearer api-tokenX"), Role::none);
    EXPECT_EQ(auth.authenticate("Bearer api-toke"), Role::none);
    EXPECT_EQ(auth.authenticate("api-token"), Role::none);
    EXPECT_EQ(auth.authenticate("Basic api-token"), Role::none);
    EXPECT_EQ(auth.authenticate(""), Role::none);
}

TEST(Authenticator, UnsetTokensMatchNothing) {
    const Authenticator auth("api-token", "");
    EXPECT_EQ(auth.authenticate("Bearer api-token"), Role::participant);
    EXPECT_EQ(auth.authenticate("Bearer "), Role::none);
    EXPECT_EQ(auth.authenticate("Bearer x"), Role::none);
    const Authenticator none("", "");
    EXPECT_EQ(none.authenticate("Bearer api-token"), Role::none);
}

}  // namespace
}  // namespace broker
