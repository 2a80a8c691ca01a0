// The admin list's cursor: round trips for any id, is opaque base64url, and refuses what it
// did not make (plain ids, garbage, tampered or padded text).
#include <gtest/gtest.h>

#include "service/cursor.hpp"

namespace broker {
namespace {

TEST(Cursor, RoundTripsIdsOfEveryLength) {
    for (std::string id : {"1", "12", "123", "2009521", "2009522", "identity-ish/with:colons", "x y"}) {
        const std::string cursor = encode_cursor(id);
        EXPECT_EQ(
            cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos)
            << cursor;
        EXPECT_NE(cursor.find(id), 0u) << "the id is not readable in the cursor";
        EXPECT_EQ(decode_cursor(cursor), id);
    }
}

TEST(Cursor, DifferentIdsGiveDifferentCursors) {
    EXPECT_NE(encode_cursor("2009521"), encode_cursor("2009522"));
}

TEST(Cursor, RefusesWhatItDidNotMake) {
    EXPECT_FALSE(decode_cursor(""));
    EXPECT_FALSE(decode_cursor("2009521")) << "a bare id is not a cursor";
    EXPECT_FALSE(decode_cursor("not a cursor!"));
    EXPECT_FALSE(decode_cursor(encode_cursor("100") + "="));
    EXPECT_FALSE(decode_cursor("czE6")) << "a cursor of an empty id";
    EXPECT_FALSE(decode_cursor(std::string(600, 'A')));
    std::string tampered = encode_cursor("100");
    tampered[0] = tampered[0] == 'A' ? 'B' : 'A';  // the version marker no longer matches
    EXPECT_FALSE(decode_cursor(tampered));
}

TEST(Cursor, NonZeroLeftoverBitsAreRefused) {
    // "czE6MQ" is "s1:1"; "czE6MR" decodes to the same bytes with stray bits set.
    ASSERT_EQ(decode_cursor("czE6MQ"), "1");
    EXPECT_FALSE(decode_cursor("czE6MR"));
}

}  // namespace
}  // namespace broker
