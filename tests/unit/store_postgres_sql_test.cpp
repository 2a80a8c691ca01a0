// The PostgreSQL store's pure helpers: the UTF-8 prefix bound, array literals, settings.
#include <gtest/gtest.h>

#include <map>

#include "core/errors.hpp"
#include "store/postgres/pg_sql.hpp"
#include "store/postgres/postgres_options.hpp"

namespace broker::pg {
namespace {

TEST(Utf8PrefixUpperBound, IncrementsTheLastCodePoint) {
    EXPECT_EQ(utf8_prefix_upper_bound("lab-"), "lab.");
    EXPECT_EQ(utf8_prefix_upper_bound("a"), "b");
    EXPECT_EQ(utf8_prefix_upper_bound("\x7F"), "\xC2\x80");                  // U+007F -> U+0080
    EXPECT_EQ(utf8_prefix_upper_bound("x\xDF\xBF"), "x\xE0\xA0\x80");        // U+07FF -> U+0800
    EXPECT_EQ(utf8_prefix_upper_bound("\xED\x9F\xBF"), "\xEE\x80\x80");      // U+D7FF skips the surrogates
    EXPECT_EQ(utf8_prefix_upper_bound("\xEF\xBF\xBF"), "\xF0\x90\x80\x80");  // U+FFFF -> U+10000
}

TEST(Utf8PrefixUpperBound, DropsTrailingHighestCodePoints) {
    const std::string top = "\xF4\x8F\xBF\xBF";
    EXPECT_EQ(utf8_prefix_upper_bound("edge-" + top), "edge.");
    EXPECT_EQ(utf8_prefix_upper_bound("e" + top + top), "f");
    EXPECT_EQ(utf8_prefix_upper_bound(top + top), "");  // no bound: everything from the prefix on
}

TEST(Utf8PrefixUpperBound, RejectsMalformedText) {
    EXPECT_FALSE(utf8_prefix_upper_bound("\xFF"));
    EXPECT_FALSE(utf8_prefix_upper_bound("a\xC0\x80"));     // overlong NUL
    EXPECT_FALSE(utf8_prefix_upper_bound("\xED\xA0\x80"));  // a surrogate
    EXPECT_FALSE(utf8_prefix_upper_bound("\xE2\x82"));      // cut short
    EXPECT_FALSE(utf8_prefix_upper_bound(std::string("a\0b", 3)));
    EXPECT_TRUE(is_valid_utf8("plain \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
}

TEST(TextArrayLiteral, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
    const std::vector<std::string> items = {"a", "", "say \"hi\"", "c:\\dir", "{,}", "NULL"};
    EXPECT_EQ(text_array_literal(items, [](const std::string& s) { return s; }),
              R"({"a","","say \"hi\"","c:\\dir","{,}","NULL"})");
    EXPECT_EQ(text_array_literal(std::vector<std::string>{}, [](const std::string& s) { return s; }), "{}");
}

TEST(PostgresOptionsFromEnv, DefaultsAndOverrides) {
    std::map<std::string, std::string> vars;
    const EnvLookup env = [&](const std::string& k) -> std::optional<std::string> {
        auto it = vars.find(k);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
    auto defaults = postgres_options_from_env("postgresql://u@h/db", env);
    EXPECT_EQ(defaults.url, "postgresql://u@h/db");
    EXPECT_EQ(defaults.pool_size, 16u);
    EXPECT_EQ(defaults.statement_timeout_ms, 5000);

    vars = {{"DB_POOL_SIZE", "64"},
            {"DB_STATEMENT_TIMEOUT_MS", "250"},
            {"DB_POOL_WAIT_MS", "100"},
            {"DB_SCHEMA", "broker"}};
    auto set = postgres_options_from_env("postgresql://u@h/db", env);
    EXPECT_EQ(set.pool_size, 64u);
    EXPECT_EQ(set.statement_timeout_ms, 250);
    EXPECT_EQ(set.pool_wait_ms, 100);
    EXPECT_EQ(set.schema, "broker");

    vars = {{"DB_POOL_SIZE", "0"}};
    EXPECT_THROW(postgres_options_from_env("postgresql://u@h/db", env), ConfigError);
    vars = {{"DB_STATEMENT_TIMEOUT_MS", "5s"}};
    try {
        postgres_options_from_env("postgresql://u@h/db", env);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("DB_STATEMENT_TIMEOUT_MS"), std::string::npos);
    }
}

}  // namespace
}  // namespace broker::pg
