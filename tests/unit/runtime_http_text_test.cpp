// trim_ows and iequals_ascii: the text rules HTTP's fields share.
#include <gtest/gtest.h>

#include <string>

#include "runtime/http_text.hpp"

namespace broker {
namespace {

TEST(TrimOws, RemovesSpacesAndTabsAroundOnly) {
    EXPECT_EQ(trim_ows("  a b\t"), "a b");
    EXPECT_EQ(trim_ows("\t \t"), "");
    EXPECT_EQ(trim_ows(""), "");
    EXPECT_EQ(trim_ows("x"), "x");
    EXPECT_EQ(trim_ows(" a\tb "), "a\tb");
}

TEST(TrimOws, KeepsLineBreaksAndOtherWhitespace) {
    // CR, LF, VT and FF are not OWS: a caller that must drop a line's end does it itself.
    EXPECT_EQ(trim_ows(" v\r\n"), "v\r\n");
    EXPECT_EQ(trim_ows("\v v \f"), "\v v \f");
}

TEST(IequalsAscii, IgnoresTheCaseOfAsciiLetters) {
    EXPECT_TRUE(iequals_ascii("Bearer", "bEARER"));
    EXPECT_TRUE(iequals_ascii("X-Api-Key", "x-api-key"));
    EXPECT_TRUE(iequals_ascii("", ""));
    EXPECT_FALSE(iequals_ascii("wait", "wai"));
    EXPECT_FALSE(iequals_ascii("wait", "wais"));
}

TEST(IequalsAscii, ComparesEveryOtherByteAsItIs) {
    // Folding by setting bit 0x20 would call these equal.
    EXPECT_FALSE(iequals_ascii("@", "`"));
    EXPECT_FALSE(iequals_ascii("[", "{"));
    EXPECT_FALSE(iequals_ascii("^", "~"));
    EXPECT_FALSE(iequals_ascii("-", "\r"));
    // Bytes past ASCII: no locale's case rules.
    EXPECT_FALSE(iequals_ascii("\xC4\xB0", "i"));
    EXPECT_FALSE(iequals_ascii("\xC9", "\xE9"));  // Latin-1 'É' and 'é'
    EXPECT_TRUE(iequals_ascii("\xC9", "\xC9"));
    // Every ASCII letter against its other case, and every other byte against itself only.
    for (int c = 0; c < 256; ++c) {
        const std::string one(1, static_cast<char>(c));
        for (int d = 0; d < 256; ++d) {
            const std::string other(1, static_cast<char>(d));
            const bool letters_alike = (c | 0x20) == (d | 0x20) && (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
            EXPECT_EQ(iequals_ascii(one, other), c == d || letters_alike) << c << " " << d;
        }
    }
}

}  // namespace
}  // namespace broker
