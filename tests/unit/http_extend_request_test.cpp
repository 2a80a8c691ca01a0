// The lease extension's body: what is accepted and each refusal's message.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "http/handlers/extend_request.hpp"

namespace broker {
namespace {

std::string refusal(std::string_view body) {
    const auto parsed = parse_extend_body(body);
    const auto* message = std::get_if<std::string>(&parsed);
    return message ? *message : std::string();
}

TEST(ExtendRequest, AcceptsAWholeNumberOfSecondsInRange) {
    EXPECT_EQ(std::get<std::int64_t>(parse_extend_body(R"({"seconds": 3600})")), 3600);
    EXPECT_EQ(std::get<std::int64_t>(parse_extend_body(R"({"seconds": 1, "note": "x"})")), 1);
    EXPECT_EQ(std::get<std::int64_t>(parse_extend_body(R"({"seconds": 31622400})")), kMaxExtendSeconds);
}

TEST(ExtendRequest, RefusesEveryOtherBodySayingWhy) {
    EXPECT_NE(refusal("").find("JSON"), std::string::npos);
    EXPECT_NE(refusal("{seconds: 5}").find("JSON"), std::string::npos);
    EXPECT_NE(refusal("[60]").find("object"), std::string::npos);
    EXPECT_NE(refusal("{}").find("required"), std::string::npos);
    for (const char* body :
         {R"({"seconds": 0})", R"({"seconds": -60})", R"({"seconds": 31622401})",
          R"({"seconds": 18446744073709551615})", R"({"seconds": 1.5})", R"({"seconds": 3600.0})",
          R"({"seconds": "60"})", R"({"seconds": true})", R"({"seconds": null})", R"({"seconds": 1e300})"}) {
        EXPECT_NE(refusal(body).find("whole number of seconds from 1 to 31622400"), std::string::npos)
            << body;
    }
}

}  // namespace
}  // namespace broker
