// The admin command line's parts that need no broker: where it connects and with which token,
// and how it prints (aligned tables, RFC 4180 CSV, dates, cells that cannot steer a terminal).
// The commands themselves are tested against the real binary in tests/e2e/admin_cli_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/admin_client.hpp"
#include "app/admin_output.hpp"
#include "core/errors.hpp"
#include "unit/support/env_of.hpp"

namespace broker {
namespace {

using testing::env_of;
constexpr std::chrono::milliseconds kTimeout{1000};
const std::string kToken = "admin-token-0123456789";

AdminConnection connect(std::map<std::string, std::string> env, std::optional<std::string> url = std::nullopt,
                        std::optional<std::string> token_file = std::nullopt) {
    return load_admin_connection(env_of(std::move(env)), url, token_file, kTimeout);
}

TEST(AdminConnection, TheFlagWinsOverBrokerUrlWhichWinsOverTheListenAddress) {
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken}}).url, "http://127.0.0.1:8080");
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken}, {"BROKER_LISTEN", "0.0.0.0:9000"}}).url,
              "http://127.0.0.1:9000");
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken}, {"BROKER_LISTEN", "[::]:9000"}}).url,
              "http://[::1]:9000");
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken},
                       {"BROKER_LISTEN", "0.0.0.0:9000"},
                       {"BROKER_URL", "https://broker.example/"}})
                  .url,
              "https://broker.example");
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken}, {"BROKER_URL", "https://broker.example"}},
                      "http://10.1.2.3:8081")
                  .url,
              "http://10.1.2.3:8081");
}

TEST(AdminConnection, TheBasePathAndTheTimeoutAreKept) {
    auto c = connect({{"BROKER_ADMIN_TOKEN", kToken}});
    EXPECT_EQ(c.base_path, "/v1");
    EXPECT_EQ(c.timeout, kTimeout);
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken}, {"BROKER_BASE_PATH", "/api/v2/"}}).base_path,
              "/api/v2");
    EXPECT_THROW(connect({{"BROKER_ADMIN_TOKEN", kToken}, {"BROKER_BASE_PATH", "api"}}), ConfigError);
}

TEST(AdminConnection, AUrlThatIsNoHttpAddressIsBadUsage) {
    EXPECT_THROW(connect({{"BROKER_ADMIN_TOKEN", kToken}}, "127.0.0.1:8080"), ConfigError);
    EXPECT_THROW(connect({{"BROKER_ADMIN_TOKEN", kToken}}, "ftp://host"), ConfigError);
    EXPECT_THROW(connect({{"BROKER_ADMIN_TOKEN", kToken}}, "http://host/?a=1"), ConfigError);
    EXPECT_THROW(connect({{"BROKER_ADMIN_TOKEN", kToken}, {"BROKER_URL", "host:1"}}), ConfigError);
}

TEST(AdminConnection, TheTokenComesFromTheFileElseTheEnvironmentAndIsNeverShown) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("admin-cli-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    std::filesystem::create_directories(dir);
    const auto file = (dir / "token").string();
    std::ofstream(file) << "file-token-0123456789\n";
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken}}, std::nullopt, file).token, "file-token-0123456789");
    EXPECT_EQ(connect({{"BROKER_ADMIN_TOKEN", kToken}}).token, kToken);

    try {
        connect({}, std::nullopt, (dir / "missing").string());
        ADD_FAILURE() << "a missing token file must be refused";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("--token-file"), std::string::npos) << e.what();
    }
    try {
        connect({});
        ADD_FAILURE() << "no token must be refused";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("BROKER_ADMIN_TOKEN"), std::string::npos) << e.what();
    }
    try {
        connect({{"BROKER_ADMIN_TOKEN", "two words-0123456789"}});
        ADD_FAILURE() << "a token with a space cannot go in a header";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).find("two words"), std::string::npos)
            << "the token was shown: " << e.what();
    }
    std::filesystem::remove_all(dir);
}

TEST(AdminUrlEscape, PathSegmentsAndQueryValuesCannotChangeTheRequest) {
    EXPECT_EQ(url_escape("abc-123_x.y~z"), "abc-123_x.y~z");
    EXPECT_EQ(url_escape("../stats?x=1&y"), "..%2Fstats%3Fx%3D1%26y");
    EXPECT_EQ(url_escape("a b"), "a%20b");
}

TEST(AdminOutput, TablesAlignColumnsByCharactersNotBytes) {
    std::ostringstream out;
    print_table(out, {"ID", "NAME", "STATUS"}, {{"1", "éé", "available"}, {"22", "b", ""}});
    EXPECT_EQ(out.str(),
              "ID  NAME  STATUS\n"
              "1   éé    available\n"
              "22  b\n");
}

TEST(AdminOutput, CellsShowNullTimesAndNoControlCharacters) {
    using ojson = nlohmann::ordered_json;
    EXPECT_EQ(cell(ojson()), "-");
    EXPECT_EQ(cell(ojson(true)), "yes");
    EXPECT_EQ(cell(ojson(42)), "42");
    EXPECT_EQ(cell(ojson(0), true), "1970-01-01T00:00:00Z");
    EXPECT_EQ(cell(ojson(1796037561), true), "2026-11-30T11:19:21Z");
    EXPECT_EQ(cell(ojson("a\x1b[31mb\n")), "a?[31mb?");
    EXPECT_TRUE(is_time_field("allocated_at"));
    EXPECT_TRUE(is_time_field("lease_until"));
    EXPECT_FALSE(is_time_field("name"));
}

TEST(AdminOutput, TimesAreUnixSecondsOrTheOneIsoSpellingOfAUtcInstant) {
    EXPECT_EQ(parse_utc_time("1796288400"), 1796288400);
    EXPECT_EQ(parse_utc_time("0"), 0);
    EXPECT_EQ(parse_utc_time("2026-12-03T09:00:00Z"), 1796288400);
    EXPECT_EQ(parse_utc_time("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(utc_time(*parse_utc_time("2028-02-29T23:59:59Z")), "2028-02-29T23:59:59Z");
    for (const char* bad :
         {"", "-5", "12.5", "1796288400s", "9999999999999", "2026-12-03", "2026-12-03T09:00:00",
          "2026-12-03 09:00:00Z", "2026-12-03T09:00:00+01:00", "2026-2-3T9:00:00Z", "2026-02-30T09:00:00Z",
          "2026-12-03T24:00:00Z", "2026-12-03T09:00:00Zx", "tomorrow"}) {
        EXPECT_FALSE(parse_utc_time(bad)) << bad;
    }
}

TEST(AdminOutput, CsvQuotesOnlyWhatRfc4180Needs) {
    EXPECT_EQ(csv_field("plain"), "plain");
    EXPECT_EQ(csv_field(""), "");
    EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
    EXPECT_EQ(csv_record({"a", "b,c", ""}), "a,\"b,c\",\r\n");
    using ojson = nlohmann::ordered_json;
    EXPECT_EQ(csv_text(ojson()), "");
    EXPECT_EQ(csv_text(ojson("x")), "x");
    EXPECT_EQ(csv_text(ojson(7)), "7");
}

}  // namespace
}  // namespace broker
