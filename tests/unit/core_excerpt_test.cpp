// Excerpts of outside text for messages: one line, bounded, marked when cut.
#include <gtest/gtest.h>

#include <string>

#include "core/excerpt.hpp"

namespace broker {
namespace {

TEST(CoreExcerpt, ShortTextStaysWhole) {
    EXPECT_EQ(excerpt("{\"error\": 1}"), "{\"error\": 1}");
    EXPECT_EQ(excerpt(""), "");
    EXPECT_EQ(excerpt(" \r\n\t"), "");
}

TEST(CoreExcerpt, LongTextIsCutAndMarked) {
    const std::string body(500, 'x');
    EXPECT_EQ(excerpt(body), std::string(120, 'x') + "...");
    EXPECT_EQ(excerpt(body, 80), std::string(80, 'x') + "...");
    EXPECT_EQ(excerpt(std::string(80, 'y'), 80), std::string(80, 'y'));
}

TEST(CoreExcerpt, LeadingWhitespaceGoesAndControlCharactersBecomeSpaces) {
    EXPECT_EQ(excerpt("\n\n  <html>\r\n<body>\x7f"), "<html>  <body> ");
}

}  // namespace
}  // namespace broker
