// The one reader of settings: trimming, number bounds, booleans, and errors naming the variable.
#include <gtest/gtest.h>

#include <map>

#include "core/env_value.hpp"
#include "core/errors.hpp"

namespace broker {
namespace {

EnvLookup env_of(std::map<std::string, std::string> values) {
    return [values](const std::string& name) -> std::optional<std::string> {
        if (auto it = values.find(name); it != values.end()) return it->second;
        return std::nullopt;
    };
}

std::string error_of(const std::function<void()>& read) {
    try {
        read();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

TEST(CoreEnvValue, ReadsTrimmedValuesAndLeavesUnsetOnesAlone) {
    const auto env = env_of({{"N", " 42 "}, {"D", "0.5"}, {"B", " Yes "}, {"S", "\ttext \n"}});
    EXPECT_EQ(env_number<int>(env, "N", 1, 100), 42);
    EXPECT_EQ(env_number<double>(env, "D", 0.0, 1.0), 0.5);
    EXPECT_EQ(env_bool(env, "B"), true);
    EXPECT_EQ(env_text(env, "S"), "text");
    EXPECT_FALSE(env_number<int>(env, "UNSET", 1, 100));
    EXPECT_FALSE(env_bool(env, "UNSET"));
}

TEST(CoreEnvValue, BadValuesAreConfigErrorsNamingTheVariable) {
    const auto env = env_of({{"EMPTY", ""}, {"WORD", "ten"}, {"BIG", "101"}, {"INF", "inf"}, {"B", "maybe"}});
    EXPECT_NE(error_of([&] { env_number<int>(env, "EMPTY", 1, 100); }).find("EMPTY="), std::string::npos);
    EXPECT_NE(error_of([&] { env_number<int>(env, "WORD", 1, 100); }).find("WORD="), std::string::npos);
    EXPECT_NE(error_of([&] { env_number<int>(env, "BIG", 1, 100); }).find("BIG=101 is out of range [1, 100]"),
              std::string::npos);
    EXPECT_NE(error_of([&] { env_number<double>(env, "INF", 0.0, 1e9); }).find("INF="), std::string::npos);
    EXPECT_NE(error_of([&] { env_bool(env, "B"); }).find("B="), std::string::npos);
}

}  // namespace
}  // namespace broker
