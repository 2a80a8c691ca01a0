// Well-formed UTF-8 and the forms that are not.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace broker
