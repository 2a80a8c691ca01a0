// Well-formed UTF-8 and the forms that are not.
#include <gtest/gtest.h>

#include <string>

#include "core/utf8.hpp"

namespace broker {
namespace {

TEST(CoreUtf8, AcceptsAsciiAndEveryEncodedLength) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("lab-instance-42"));
    EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
}

TEST(CoreUtf8, RefusesMalformedSequences) {
    EXPECT_FALSE(is_valid_utf8("\xC3\x28"));                   // bad continuation
    EXPECT_FALSE(is_valid_utf8("\xC3"));                       // truncated
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                   // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));               // surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));           // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xFF"));                       // never a lead byte
    EXPECT_FALSE(is_valid_utf8(std::string_view("a\0b", 3)));  // NUL
}

TEST(CoreUtf8, DecodesEachLengthAndEncodesItBack) {
    const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    const char32_t expected[] = {U'a', 0xE9, 0x20AC, 0x1F600};
    std::string again;
    std::size_t i = 0;
    for (char32_t want : expected) {
        char32_t cp = 0;
        const std::size_t length = decode_utf8(text, i, cp);
        ASSERT_GT(length, 0u) << i;
        EXPECT_EQ(cp, want);
        append_utf8(again, cp);
        i += length;
    }
    EXPECT_EQ(i, text.size());
    EXPECT_EQ(again, text);
}

TEST(CoreUtf8, DecodeRefusesWhatValidationRefuses) {
    char32_t cp = 0;
    EXPECT_EQ(decode_utf8("\xC0\xAF", 0, cp), 0u);
    EXPECT_EQ(decode_utf8("\xED\xA0\x80", 0, cp), 0u);
    EXPECT_EQ(decode_utf8(std::string_view("\0", 1), 0, cp), 0u);
    EXPECT_EQ(decode_utf8("x\xE2\x82", 1, cp), 0u);  // truncated at the end
}

}  // namespace
}  // namespace broker
