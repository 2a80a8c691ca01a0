// Structured logs: every line parses as JSON with the original's fields, escaping holds for
// hostile text, text format stays one line per event, and secrets never come out.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "obs/json_log.hpp"

namespace broker {
namespace {

struct CapturedLogger {
    explicit CapturedLogger(LogFormat format, std::vector<std::string> secrets = {},
                            spdlog::level::level_enum level = spdlog::level::info) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
        logger = std::make_shared<spdlog::logger>("plain", sink);
        logger->set_formatter(make_log_formatter(format, std::move(secrets)));
        logger->set_level(level);
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> result;
        std::istringstream in(out.str());
        for (std::string line; std::getline(in, line);) result.push_back(line);
        return result;
    }
    nlohmann::json only_json() const {
        const auto all = lines();
        EXPECT_EQ(all.size(), 1u);
        return all.empty() ? nlohmann::json() : nlohmann::json::parse(all[0]);
    }
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> logger;
};

TEST(ObsJsonLog, EventLineHasTheOriginalFields) {
    CapturedLogger cap(LogFormat::json);
    log_event(*cap.logger, spdlog::level::info, "broker.http", "POST /v1/allocate",
              {.request_id = "req-1",
               .track_id = "participant-9",
               .instruqt_track_id = "lab-2",
               .sandbox_id = "2009521",
               .action = "allocate",
               .outcome = "success",
               .latency_ms = 1234.5,
               .extra = {{"status", "201"}}});
    const auto j = cap.only_json();
    EXPECT_EQ(j["level"], "INFO");
    EXPECT_EQ(j["logger"], "broker.http");
    EXPECT_EQ(j["message"], "POST /v1/allocate");
    EXPECT_EQ(j["request_id"], "req-1");
    EXPECT_EQ(j["track_id"], "participant-9");
    EXPECT_EQ(j["instruqt_track_id"], "lab-2");
    EXPECT_EQ(j["sandbox_id"], "2009521");
    EXPECT_EQ(j["action"], "allocate");
    EXPECT_EQ(j["outcome"], "success");
    ASSERT_TRUE(j["latency_ms"].is_number());  // so `{ $.latency_ms > 1000 }` matches
    EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 1234.5);
    EXPECT_EQ(j["status"], "201");
    EXPECT_FALSE(j.contains("error"));  // absent fields are left out, not null
    const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
    EXPECT_TRUE(std::regex_match(j["timestamp"].get<std::string>(), iso)) << j["timestamp"];
    // Key order as the original wrote them: timestamp, level, logger, message first.
    const std::string line = cap.lines()[0];
    EXPECT_EQ(line.rfind("{\"timestamp\":", 0), 0u);
    EXPECT_LT(line.find("\"level\""), line.find("\"logger\""));
    EXPECT_LT(line.find("\"logger\""), line.find("\"message\""));
    EXPECT_LT(line.find("\"message\""), line.find("\"request_id\""));
}

TEST(ObsJsonLog, TimestampIsUtcWithMilliseconds) {
    auto formatter = make_log_formatter(LogFormat::json);
    spdlog::details::log_msg msg("lg", spdlog::level::err, "boom");
    msg.time = spdlog::log_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
    spdlog::memory_buf_t buf;
    formatter->format(msg, buf);
    const auto j = nlohmann::json::parse(std::string(buf.data(), buf.size()));
    EXPECT_EQ(j["timestamp"], "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(j["level"], "ERROR");
    EXPECT_EQ(j["logger"], "lg");  // plain spdlog calls: the spdlog logger's name
    EXPECT_EQ(j["message"], "boom");
}

// The text up to the second is kept between lines: it must follow the clock both ways.
TEST(ObsJsonLog, TimestampFollowsTheSecondFromLineToLine) {
    auto formatter = make_log_formatter(LogFormat::json);
    auto timestamp_at = [&](std::int64_t ms) {
        spdlog::details::log_msg msg("lg", spdlog::level::info, "x");
        msg.time = spdlog::log_clock::time_point(std::chrono::milliseconds(ms));
        spdlog::memory_buf_t buf;
        formatter->format(msg, buf);
        return nlohmann::json::parse(std::string(buf.data(), buf.size()))["timestamp"].get<std::string>();
    };
    EXPECT_EQ(timestamp_at(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(timestamp_at(1'700'000'000'999), "2023-11-14T22:13:20.999Z");
    EXPECT_EQ(timestamp_at(1'700'000'001'000), "2023-11-14T22:13:21.000Z");
    EXPECT_EQ(timestamp_at(1'700'000'000'007), "2023-11-14T22:13:20.007Z");  // back again
    EXPECT_EQ(timestamp_at(1'800'000'000'050), "2027-01-15T08:00:00.050Z");
}

// Members written straight into a buffer are what log_event writes for the same fields.
TEST(ObsJsonLog, MembersAreTheFieldsLogEventWrites) {
    CapturedLogger from_fields(LogFormat::json);
    log_event(*from_fields.logger, spdlog::level::info, "broker.http", "m",
              {.request_id = "r\"1", .latency_ms = 12.345, .status = 404, .extra = {{"path", "/v1/x"}}});
    std::string members;
    append_log_member(members, "request_id", "r\"1");
    append_log_member_ms(members, "latency_ms", std::chrono::microseconds(12'345));
    append_log_member(members, "status", std::int64_t{404});
    append_log_member(members, "path", "/v1/x");
    CapturedLogger from_members(LogFormat::json);
    log_event_members(*from_members.logger, spdlog::level::info, "broker.http", "m", members);
    const auto a = from_fields.lines(), b = from_members.lines();
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0].substr(a[0].find("\"level\"")), b[0].substr(b[0].find("\"level\"")));
}

TEST(ObsJsonLog, MicrosecondsAreWrittenAsMillisecondsWithThreeDecimals) {
    auto ms = [](std::int64_t us) {
        std::string out;
        append_log_member_ms(out, "l", std::chrono::microseconds(us));
        return out;
    };
    EXPECT_EQ(ms(0), ",\"l\":0.000");
    EXPECT_EQ(ms(7), ",\"l\":0.007");
    EXPECT_EQ(ms(1'234'567), ",\"l\":1234.567");
    EXPECT_EQ(ms(-1'500), ",\"l\":-1.500");
}

TEST(ObsJsonLog, EscapesHostileText) {
    CapturedLogger cap(LogFormat::json);
    const std::string nasty =
        "quote\" backslash\\ newline\n tab\t ctrl\x01 unicode \xc3\xa9 bad \xff\xfe end";
    log_event(*cap.logger, spdlog::level::err, "broker.jobs", nasty,
              {.error = nasty, .extra = {{"k\"ey", nasty}}});
    const auto lines = cap.lines();
    ASSERT_EQ(lines.size(), 1u);  // the newline did not split the event
    const auto j = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(j["message"].get<std::string>().substr(0, 40), nasty.substr(0, 40));
    EXPECT_NE(j["error"].get<std::string>().find("\xc3\xa9"), std::string::npos);
    EXPECT_NE(j["error"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD for bad bytes
    EXPECT_TRUE(j.contains("k\"ey"));
}

TEST(ObsJsonLog, PlainSpdlogCallsAreJsonToo) {
    CapturedLogger cap(LogFormat::json);
    cap.logger->warn("disk {} at {}%", "/data", 93);
    const auto j = cap.only_json();
    EXPECT_EQ(j["level"], "WARNING");
    EXPECT_EQ(j["message"], "disk /data at 93%");
}

TEST(ObsJsonLog, MessageCannotForgeFields) {
    CapturedLogger cap(LogFormat::json);
    cap.logger->info(
        "\x1e"
        "x\x1e,\"level\":\"ERROR\"\x1e"
        "hi");
    const auto j = cap.only_json();
    EXPECT_EQ(j["level"], "INFO");
    EXPECT_EQ(j["logger"], "plain");
}

TEST(ObsJsonLog, RespectsLevel) {
    CapturedLogger cap(LogFormat::json, {}, spdlog::level::warn);
    log_event(*cap.logger, spdlog::level::info, "x", "dropped");
    log_event(*cap.logger, spdlog::level::err, "x", "kept");
    ASSERT_EQ(cap.lines().size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(cap.lines()[0])["message"], "kept");
}

TEST(ObsJsonLog, TextFormatIsOneReadableLine) {
    CapturedLogger cap(LogFormat::text);
    log_event(*cap.logger, spdlog::level::info, "broker.http", "two\nlines",
              {.request_id = "r1", .outcome = "no sandboxes", .latency_ms = 12});
    const auto lines = cap.lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(
        lines[0].find(" INFO broker.http: two\\nlines request_id=r1 outcome=\"no sandboxes\" latency_ms=12"),
        std::string::npos)
        << lines[0];
}

TEST(ObsJsonLog, SensitiveFieldNamesAreMasked) {
    EXPECT_TRUE(is_sensitive_field_name("password"));
    EXPECT_TRUE(is_sensitive_field_name("CSP_API_TOKEN"));
    EXPECT_TRUE(is_sensitive_field_name("Authorization"));
    EXPECT_TRUE(is_sensitive_field_name("niosxaas_jwt"));
    EXPECT_FALSE(is_sensitive_field_name("sandbox_id"));
    CapturedLogger cap(LogFormat::json);
    log_event(*cap.logger, spdlog::level::info, "x", "login",
              {.extra = {{"password", "hunter2hunter2"}, {"Authorization", "Bearer abc"}, {"user", "ann"}}});
    const auto j = cap.only_json();
    EXPECT_EQ(j["password"], kRedacted);
    EXPECT_EQ(j["Authorization"], kRedacted);
    EXPECT_EQ(j["user"], "ann");
    EXPECT_EQ(cap.out.str().find("hunter2"), std::string::npos);
}

TEST(ObsJsonLog, ConfiguredSecretsNeverComeOut) {
    const std::string api_token = "s3cr3t-api-token-value";
    const std::string quoted_secret = "pa\"ss\\word42";  // changes shape once JSON-escaped
    CapturedLogger cap(LogFormat::json, {api_token, quoted_secret, "abc"});
    cap.logger->error("request failed with header {}", api_token);
    log_event(*cap.logger, spdlog::level::err, "x", "oops",
              {.error = "login with " + quoted_secret + " failed"});
    log_event(*cap.logger, spdlog::level::info, "x", "abc is too short to be masked");
    const std::string text = cap.out.str();
    EXPECT_EQ(text.find(api_token), std::string::npos);
    EXPECT_EQ(text.find("ss\\\\word42"), std::string::npos);
    EXPECT_EQ(text.find("word42"), std::string::npos);
    const auto lines = cap.lines();
    ASSERT_EQ(lines.size(), 3u);
    for (const auto& line : lines) EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    EXPECT_EQ(nlohmann::json::parse(lines[0])["message"], "request failed with header [REDACTED]");
    EXPECT_EQ(nlohmann::json::parse(lines[1])["error"], "login with [REDACTED] failed");
    EXPECT_EQ(nlohmann::json::parse(lines[2])["message"], "abc is too short to be masked");
}

TEST(ObsJsonLog, CredentialsAfterAuthSchemesAreMasked) {
    EXPECT_EQ(scrub_secrets("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig-part", {}),
              "Authorization: Bearer [REDACTED]");
    EXPECT_EQ(scrub_secrets("header Authorization: Token 0123456789abcdef0123 sent", {}),
              "header Authorization: Token [REDACTED] sent");
    EXPECT_EQ(scrub_secrets("Token expired for bearer of the lab", {}),
              "Token expired for bearer of the lab");
}

TEST(ObsJsonLog, ParsesConfigValues) {
    EXPECT_EQ(parse_log_format("JSON"), LogFormat::json);
    EXPECT_EQ(parse_log_format("text"), LogFormat::text);
    EXPECT_FALSE(parse_log_format("xml"));
    EXPECT_EQ(parse_log_level("WARNING"), spdlog::level::warn);
    EXPECT_EQ(parse_log_level("warn"), spdlog::level::warn);
    EXPECT_EQ(parse_log_level("debug"), spdlog::level::debug);
    EXPECT_EQ(parse_log_level("Error"), spdlog::level::err);
    EXPECT_FALSE(parse_log_level("loud"));
    EXPECT_EQ(level_name(spdlog::level::critical), "CRITICAL");
}

TEST(ObsJsonLog, ExtraNumbersAreJsonNumbers) {
    CapturedLogger cap(LogFormat::json);
    log_event(*cap.logger, spdlog::level::info, "broker.jobs.cleanup", "job run finished",
              {.latency_ms = 0.125,
               .extra = {{"deleted", std::int64_t{0}},
                         {"attempt", 2},
                         {"ratio", 0.5},
                         {"stopped_early", true},
                         {"reason", "text stays text"},
                         {"api_token", 12345}}});
    const auto j = cap.only_json();
    ASSERT_TRUE(j["deleted"].is_number_integer()) << j.dump();
    EXPECT_EQ(j["deleted"].get<int>(), 0);
    EXPECT_EQ(j["attempt"].get<int>(), 2);
    ASSERT_TRUE(j["ratio"].is_number_float()) << j.dump();
    EXPECT_DOUBLE_EQ(j["ratio"].get<double>(), 0.5);
    EXPECT_EQ(j["stopped_early"], true);
    EXPECT_EQ(j["reason"], "text stays text");
    EXPECT_EQ(j["api_token"], std::string(kRedacted));  // masked whatever its type
    EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 0.125);
}

TEST(ObsJsonLog, NonFiniteNumbersKeepTheLineValidJson) {
    CapturedLogger cap(LogFormat::json);
    log_event(*cap.logger, spdlog::level::info, "broker.test", "odd",
              {.latency_ms = std::numeric_limits<double>::infinity(),
               .extra = {{"ratio", std::numeric_limits<double>::quiet_NaN()}}});
    const auto j = cap.only_json();
    EXPECT_TRUE(j["latency_ms"].is_null());
    EXPECT_TRUE(j["ratio"].is_null());
}

TEST(ObsJsonLog, TextFormatWritesNumbersBare) {
    CapturedLogger cap(LogFormat::text);
    log_event(*cap.logger, spdlog::level::info, "broker.jobs.sync", "job run finished",
              {.extra = {{"listed", 12}, {"name", "a b"}}});
    const auto lines = cap.lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find(" listed=12"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(" name=\"a b\""), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace broker
