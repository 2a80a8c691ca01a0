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

TEST(TokenMemo, RecallsOnlyTheRememberedTokenItself) {
    TokenMemo memo;
    EXPECT_FALSE(memo.recall("api-token"));
    memo.remember("api-token", Role::participant);
    EXPECT_EQ(memo.recall("api-token"), Role::participant);
    for (const std::string_view other :
         {std::string_view("api-toke"), std::string_view("api-tokenX"), std::string_view("api-tokem"),
          std::string_view(), std::string_view("api-token\0", 10)})
        EXPECT_FALSE(memo.recall(other)) << other;
    memo.remember("admin-token", Role::admin);
    EXPECT_FALSE(memo.recall("api-token"));
    EXPECT_EQ(memo.recall("admin-token"), Role::admin);
    memo.remember("admin-token", Role::none);  // a refused token is never remembered
    EXPECT_FALSE(memo.recall("admin-token"));
    const std::string long_token(TokenMemo::kMaxToken + 1, 'a');
    memo.remember(long_token, Role::participant);
    EXPECT_FALSE(memo.recall(long_token));  // too long to keep: digested every time
}

// Through a connection's memo the roles are the ones the digests grant, request after request.
TEST(Authenticator, TheConnectionsMemoGrantsWhatTheDigestGrants) {
    const Authenticator auth("api-token", "admin-token");
    TokenMemo memo;
    auto role_of = [&](std::string authorization, Access access = Access::participant) {
        Request request;
        if (!authorization.empty()) request.set(bhttp::field::authorization, authorization);
        RequestContext ctx(request);
        ctx.token_memo = &memo;
        return auth.authenticate(ctx, access).role;
    };
    EXPECT_EQ(role_of("Bearer api-token"), Role::participant);
    EXPECT_EQ(memo.recall("api-token"), Role::participant);
    EXPECT_EQ(role_of("Bearer api-token"), Role::participant);
    EXPECT_EQ(role_of("Bearer api-tokenX"), Role::none);  // a wrong token after a good one
    EXPECT_FALSE(memo.recall("api-token"));               // ...forgets the good one
    EXPECT_EQ(role_of("Bearer admin-token", Access::admin), Role::admin);
    EXPECT_EQ(role_of("Bearer api-token"), Role::participant);
    EXPECT_EQ(role_of(""), Role::none);
    EXPECT_EQ(role_of("Basic api-token"), Role::none);
}

}  // namespace
}  // namespace broker
