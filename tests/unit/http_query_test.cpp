// Query strings of admin requests: percent-decoding, '+', repeated and valueless names, and
// the malformed escapes that must be refused rather than guessed at.
#include <gtest/gtest.h>

#include "http/query.hpp"

namespace broker {
namespace {

TEST(Query, SplitsAndDecodes) {
    const auto params = parse_query("status=pending_deletion&limit=20&cursor=czE6MTAw&name=a%20b+c");
    ASSERT_TRUE(params);
    EXPECT_EQ(query_value(*params, "status"), "pending_deletion");
    EXPECT_EQ(query_value(*params, "limit"), "20");
    EXPECT_EQ(query_value(*params, "cursor"), "czE6MTAw");
    EXPECT_EQ(query_value(*params, "name"), "a b c");
    EXPECT_EQ(query_value(*params, "missing"), std::nullopt);
}

TEST(Query, EmptyValuelessAndRepeatedNames) {
    const auto params = parse_query("a=&b&&c=1&c=2");
    ASSERT_TRUE(params);
    EXPECT_EQ(query_value(*params, "a"), "");
    EXPECT_EQ(query_value(*params, "b"), "");
    EXPECT_EQ(query_value(*params, "c"), "1") << "the first value wins";
    EXPECT_TRUE(parse_query("")->empty());
}

TEST(Query, EncodedNamesAndSeparators) {
    const auto params = parse_query("st%61tus=a%26b%3Dc");
    ASSERT_TRUE(params);
    EXPECT_EQ(query_value(*params, "status"), "a&b=c");
}

TEST(Query, MalformedEscapesAreRefused) {
    for (const char* bad : {"a=%", "a=%4", "a=%zz", "a=%g1", "%=1", "a=%00", "a=%0a", "a=%7F"}) {
        EXPECT_FALSE(parse_query(bad)) << bad;
    }
}

}  // namespace
}  // namespace broker
