// JsonObject writes the text nlohmann's dump (error_handler_t::replace) writes for the same
// members in name order: the answers built with it are byte for byte what they were.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/json_object.hpp"

namespace broker::testing {
namespace {

std::string dumped(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(JsonObject, WritesWhatTheTreeWouldForEveryKindOfMember) {
    const std::string awkward = "quote \" backslash \\ tab \t nl \n ctl \x01 del \x7f é ✓";
    const std::string invalid_utf8 = "bad \xff\xfe end";
    const std::optional<std::int64_t> none;
    const std::optional<std::int64_t> some = 1'700'000'000;
    const std::string text = JsonObject()
                                 .add("a_plain", "sandbox-0001")
                                 .add("b_awkward", awkward)
                                 .add("c_invalid", invalid_utf8)
                                 .add("d_null", none)
                                 .add("e_time", some)
                                 .add("f_negative", std::int64_t{-42})
                                 .add("g_empty", "")
                                 .finish();
    const nlohmann::json tree = {
        {"a_plain", "sandbox-0001"},
        {"b_awkward", awkward},
        {"c_invalid", invalid_utf8},
        {"d_null", nullptr},
        {"e_time", *some},
        {"f_negative", -42},
        {"g_empty", ""},
    };
    EXPECT_EQ(text, dumped(tree));
    EXPECT_EQ(nlohmann::json::parse(text)["c_invalid"], "bad \xef\xbf\xbd\xef\xbf\xbd end");
}

TEST(JsonObject, AnEmptyObjectIsBraces) {
    EXPECT_EQ(JsonObject().finish(), "{}");
}

}  // namespace
}  // namespace broker::testing
