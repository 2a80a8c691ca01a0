// JSON string literals appended to a buffer: printable ASCII copied as it is, everything else
// escaped as nlohmann-json escapes it, invalid UTF-8 replaced, and what was in the buffer kept.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/json_text.hpp"

namespace broker {
namespace {

std::string literal(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

TEST(CoreJsonText, PrintableAsciiIsCopiedBetweenQuotes) {
    EXPECT_EQ(literal(""), R"("")");
    EXPECT_EQ(literal("lab-sbx-0042 track/a ~!@#$%^&*()_+{}[]:;',.<>?="),
              R"("lab-sbx-0042 track/a ~!@#$%^&*()_+{}[]:;',.<>?=")");
}

TEST(CoreJsonText, QuotesBackslashesAndControlsAreEscaped) {
    EXPECT_EQ(literal("say \"hi\""), R"("say \"hi\"")");
    EXPECT_EQ(literal("a\\b"), R"("a\\b")");
    EXPECT_EQ(literal("tab\there\nnew"), R"("tab\there\nnew")");
    EXPECT_EQ(literal(std::string_view("nul\0x", 5)), R"("nul\u0000x")");
    EXPECT_EQ(literal("\x1f\x7f"), "\"\\u001f\x7f\"");
}

TEST(CoreJsonText, Utf8IsKeptAndInvalidBytesAreReplaced) {
    EXPECT_EQ(literal("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
    EXPECT_EQ(literal("bad\xff"), "\"bad\xef\xbf\xbd\"");
}

TEST(CoreJsonText, EveryByteRoundTripsThroughAJsonParser) {
    // Each single byte, plain or not, gives a literal a parser reads back (invalid UTF-8 as
    // U+FFFD), appended after what the buffer already held.
    for (int b = 0; b < 256; ++b) {
        const std::string text(1, static_cast<char>(b));
        std::string out = "[";
        append_json_string(out, text);
        out += "]";
        const auto parsed = nlohmann::json::parse(out);
        ASSERT_EQ(parsed.size(), 1u) << b;
        if (b < 0x80)
            EXPECT_EQ(parsed[0].get<std::string>(), text) << b;
        else
            EXPECT_EQ(parsed[0].get<std::string>(), "\xef\xbf\xbd") << b;
    }
}

}  // namespace
}  // namespace broker
