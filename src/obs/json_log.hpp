// Structured logging on spdlog: one JSON object per line (LOG_FORMAT=json, the default) or
// a readable line (text), with the original's field names so existing CloudWatch metric
// filters keep matching: timestamp, level, logger, message, and the optional request_id,
// track_id, instruqt_track_id, sandbox_id, action, outcome, latency_ms, error.
//
// Secrets: fields whose name says token/password/authorization/... are masked, and every
// configured secret value (the API tokens, the provider token) is masked wherever it shows
// up in a line, including lines written by plain spdlog calls.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace broker {

enum class LogFormat { json, text };

// "json" / "text", case-insensitive.
std::optional<LogFormat> parse_log_format(std::string_view text);
// LOG_LEVEL: trace, debug, info, warning (warn), error, critical, off; case-insensitive.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);
// How a level is spelled in a line: DEBUG, INFO, WARNING, ERROR, CRITICAL (as the original).
std::string_view level_name(spdlog::level::level_enum level);

inline constexpr std::string_view kRedacted = "[REDACTED]";

// The value of an extra field: text is written as a JSON string, counts and durations as JSON
// numbers, so metric filters such as `{ $.deleted > 0 }` compare numerically.
class LogValue {
  public:
    LogValue(std::string text) : value_(std::move(text)) {}
    LogValue(std::string_view text) : value_(std::string(text)) {}
    LogValue(const char* text) : value_(std::string(text)) {}
    template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>) LogValue(T number)
        : value_(static_cast<std::int64_t>(number)) {}
    LogValue(double number) : value_(number) {}
    LogValue(bool flag) : value_(flag) {}

    const std::variant<std::string, std::int64_t, double, bool>& value() const { return value_; }

  private:
    std::variant<std::string, std::int64_t, double, bool> value_;
};

struct LogFields {
    std::optional<std::string> request_id{};
    std::optional<std::string> track_id{};           // participant id
    std::optional<std::string> instruqt_track_id{};  // lab id
    std::optional<std::string> sandbox_id{};
    std::optional<std::string> action{};
    std::optional<std::string> outcome{};
    std::optional<double> latency_ms{};
    std::optional<int> status{};  // HTTP status of an access-log line, written as a number
    std::optional<std::string> error{};
    // Anything else, written after the fields above; values of sensitive names are masked.
    std::vector<std::pair<std::string, LogValue>> extra{};
};

// True for names that hold credentials (token, password, secret, authorization, cookie,
// api_key, jwt, credential...), compared case-insensitively as substrings.
bool is_sensitive_field_name(std::string_view name);
// Replaces every occurrence of each secret (and of its JSON-escaped spelling) with
// [REDACTED], and the credential after `Bearer ` / `Token `. Secrets shorter than 6
// bytes are ignored: masking them would shred ordinary words.
std::string scrub_secrets(std::string_view text, const std::vector<std::string>& secrets);

struct LogConfig {
    LogFormat format = LogFormat::json;
    spdlog::level::level_enum level = spdlog::level::info;
    std::vector<std::string> secrets{};  // values never to print
    // Lines below warning are written in batches at least this often (see BufferedSink).
    std::chrono::milliseconds flush_interval{200};
};

// A formatter for any spdlog sink; lines end with '\n'.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format,
                                                      std::vector<std::string> secrets = {});

// The formatters make_log_formatter returns: besides spdlog's messages they format an event
// given as its parts, so a sink that knows them (BufferedSink) takes an event without
// spdlog's message path (log_event's way for the line per request).
class EventFormatter : public spdlog::formatter {
  public:
    // Sets `line` to the event's line, '\n' included, with the secrets masked. `members` are
    // the fields as JSON members, each led by a comma (append_log_member).
    virtual void format_event(spdlog::level::level_enum level, spdlog::log_clock::time_point time,
                              std::string_view logger, std::string_view message, std::string_view members,
                              std::string& line) const = 0;
};

// Appends `,"name":value` to an event's members: text as a JSON string, integers as JSON
// numbers, durations in milliseconds with microsecond precision. The value is written as
// given: a name that may hold a credential (is_sensitive_field_name) needs kRedacted instead,
// as log_event does for LogFields::extra.
void append_log_member(std::string& members, std::string_view name, std::string_view text);
void append_log_member(std::string& members, std::string_view name, std::int64_t number);
void append_log_member_ms(std::string& members, std::string_view name, double milliseconds);
void append_log_member_ms(std::string& members, std::string_view name, std::chrono::microseconds duration);

// Makes a logger writing to stdout (through a BufferedSink) with the configured format and
// level and installs it as spdlog's default logger, so plain spdlog calls come out in the
// same format.
std::shared_ptr<spdlog::logger> configure_logging(const LogConfig& config);

// Logs one event. `logger` names the part that speaks ("broker.http", "broker.jobs.sync").
void log_event(spdlog::logger& target, spdlog::level::level_enum level, std::string_view logger,
               std::string_view message, const LogFields& fields = {});
// The same on spdlog's default logger.
void log_event(spdlog::level::level_enum level, std::string_view logger, std::string_view message,
               const LogFields& fields = {});
// The same with the fields already written as members (append_log_member): for a caller that
// builds them straight into a reused buffer (the access log, once per request).
void log_event_members(spdlog::logger& target, spdlog::level::level_enum level, std::string_view logger,
                       std::string_view message, std::string_view members);

}  // namespace broker
