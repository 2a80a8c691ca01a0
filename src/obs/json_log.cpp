// JSON and text log formatters for spdlog, event encoding, and secret masking.
#include "obs/json_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <type_traits>
#include <typeinfo>
#include <variant>

#include "core/json_text.hpp"
#include "obs/buffered_sink.hpp"

namespace broker {

namespace {

// ASCII only, and without the locale look-up of std::tolower: this runs per byte of every line.
char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

// A JSON number with microsecond precision for durations in milliseconds; JSON has no
// spelling for NaN or infinity, so those become null rather than a line that does not parse.
void append_json_number(std::string& out, double value) {
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    fmt::format_to(std::back_inserter(out), "{:.3f}", value);
}

std::string json_string(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

// log_event hands fields to the formatter inside the payload, behind a tag no caller can
// guess, so a message that happens to look like an event cannot smuggle fields in:
// <tag><logger><sep><fields as ,"name":value...><sep><message>.
constexpr char kSep = '\x1e';

// Per-thread line buffers keep up to this much between lines.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;

const std::string& event_tag() {
    static const std::string tag = [] {
        std::random_device random;
        std::string t =
            "\x1e"
            "ev";
        for (int i = 0; i < 4; ++i) t += std::to_string(random());
        return t + kSep;
    }();
    return tag;
}

struct DecodedEvent {
    std::string_view logger;
    std::string_view fields;  // JSON members, each led by a comma
    std::string_view message;
};

DecodedEvent decode(const spdlog::details::log_msg& msg) {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const std::string_view logger_name(msg.logger_name.data(), msg.logger_name.size());
    const std::string& tag = event_tag();
    if (payload.starts_with(tag)) {
        const std::size_t logger_end = payload.find(kSep, tag.size());
        const std::size_t fields_end =
            logger_end == std::string_view::npos ? logger_end : payload.find(kSep, logger_end + 1);
        if (fields_end != std::string_view::npos) {
            return {payload.substr(tag.size(), logger_end - tag.size()),
                    payload.substr(logger_end + 1, fields_end - logger_end - 1),
                    payload.substr(fields_end + 1)};
        }
    }
    return {logger_name, {}, payload};
}

// Civil-date arithmetic rather than gmtime_r, which takes glibc's time-zone lock; digits
// written by hand rather than through snprintf, which costs more than the rest of the line.
void append_iso_timestamp(std::string& out, spdlog::log_clock::time_point time) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(time.time_since_epoch());
    const auto day = floor<days>(ms);
    const year_month_day date{sys_days(day)};
    const hh_mm_ss clock_time{ms - day};
    char buf[] = "0000-00-00T00:00:00.000Z";
    const auto put = [&buf](int at, long value, int digits) {
        for (int i = digits - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
    };
    put(0, static_cast<int>(date.year()), 4);
    put(5, static_cast<unsigned>(date.month()), 2);
    put(8, static_cast<unsigned>(date.day()), 2);
    put(11, clock_time.hours().count(), 2);
    put(14, clock_time.minutes().count(), 2);
    put(17, clock_time.seconds().count(), 2);
    put(20, clock_time.subseconds().count(), 3);
    out.append(buf, sizeof buf - 1);
}

// The same with the text up to the second kept per thread: lines come many per second.
void append_iso_timestamp_cached(std::string& out, spdlog::log_clock::time_point time) {
    using namespace std::chrono;
    thread_local std::int64_t cached_second = -1;
    thread_local std::string cached;  // "2026-01-02T03:04:05." of cached_second
    const auto ms = floor<milliseconds>(time.time_since_epoch()).count();
    const std::int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    if (second != cached_second) {
        cached.clear();
        append_iso_timestamp(cached, time);
        cached.resize(cached.size() - 4);  // the milliseconds and the Z
        cached_second = second;
    }
    out += cached;
    const auto millis = static_cast<unsigned>(ms - second * 1000);
    const char tail[] = {static_cast<char>('0' + millis / 100), static_cast<char>('0' + millis / 10 % 10),
                         static_cast<char>('0' + millis % 10), 'Z'};
    out.append(tail, sizeof tail);
}

std::string iso_timestamp(spdlog::log_clock::time_point time) {
    std::string out;
    append_iso_timestamp(out, time);
    return out;
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

// scrub_secrets without a copy (below).
void scrub_secrets_in_place(std::string& out, const std::vector<std::string>& secrets);
// The texts scrub_secrets masks for `secrets`, worked out once (below).
std::vector<std::string> secret_needles(const std::vector<std::string>& secrets);
void scrub_needles_in_place(std::string& out, const std::vector<std::string>& needles);

class JsonLogFormatter final : public EventFormatter {
  public:
    explicit JsonLogFormatter(std::vector<std::string> secrets)
        : secrets_(std::move(secrets)), needles_(secret_needles(secrets_)) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const DecodedEvent event = decode(msg);
        // One buffer per thread, reused line after line: no allocation once it has grown.
        thread_local std::string line;
        format_event(msg.level, msg.time, event.logger, event.message, event.fields, line);
        append(dest, line);
        if (line.capacity() > kKeptBufferBytes) std::string().swap(line);  // a huge line: give it back
    }

    void format_event(spdlog::level::level_enum level, spdlog::log_clock::time_point time,
                      std::string_view logger, std::string_view message, std::string_view members,
                      std::string& line) const override {
        line.clear();
        line += "{\"timestamp\":\"";
        append_iso_timestamp_cached(line, time);
        line += "\",\"level\":\"";
        line += level_name(level);
        line += "\",\"logger\":";
        append_json_string(line, logger);
        line += ",\"message\":";
        append_json_string(line, message);
        line += members;
        line += '}';
        scrub_needles_in_place(line, needles_);
        line += '\n';
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonLogFormatter>(secrets_);
    }

  private:
    std::vector<std::string> secrets_;
    std::vector<std::string> needles_;  // what the secrets look like in a line
};

class TextLogFormatter final : public EventFormatter {
  public:
    explicit TextLogFormatter(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const DecodedEvent event = decode(msg);
        std::string line;
        format_event(msg.level, msg.time, event.logger, event.message, event.fields, line);
        append(dest, line);
    }

    void format_event(spdlog::level::level_enum level, spdlog::log_clock::time_point time,
                      std::string_view logger, std::string_view message, std::string_view members,
                      std::string& out) const override {
        std::string line = iso_timestamp(time);
        line += ' ';
        line += level_name(level);
        line += ' ';
        line += logger;
        line += ": ";
        // One event is one line, whatever the message holds.
        for (char c : message) line += c == '\n' ? std::string_view("\\n") : std::string_view(&c, 1);
        if (!members.empty()) {
            std::string object(1, '{');
            object.append(members.substr(1));
            object += '}';
            const auto fields = nlohmann::ordered_json::parse(object, nullptr, false);
            if (!fields.is_discarded())
                for (const auto& [name, value] : fields.items()) {
                    line += ' ';
                    line += name;
                    line += '=';
                    if (value.is_string()) {
                        const auto& text = value.get_ref<const std::string&>();
                        const bool plain =
                            !text.empty() && text.find_first_of(" \"\\=\n\t") == std::string::npos;
                        line += plain ? text : json_string(text);
                    } else {
                        line += value.dump();
                    }
                }
        }
        out = scrub_secrets(line, secrets_);
        out += '\n';
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<TextLogFormatter>(secrets_);
    }

  private:
    std::vector<std::string> secrets_;
};

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' ||
           c == '+' || c == '/' || c == '=';
}

// Masks a credential that follows an auth scheme word; only runs of 16+ token characters
// count, so prose such as "Token expired" is left alone.
void mask_after_scheme(std::string& text, std::string_view scheme) {
    constexpr std::size_t kMinCredential = 16;
    // Schemes end in a space and lines hold few spaces: look for those (memchr) first.
    auto scheme_ends_at = [&](std::size_t space) {
        if (space + 1 < scheme.size()) return false;
        const std::size_t first = space + 1 - scheme.size();
        for (std::size_t i = 0; i < scheme.size(); ++i) {
            if (ascii_lower(text[first + i]) != ascii_lower(scheme[i])) return false;
        }
        return true;
    };
    std::string out;
    std::size_t copied = 0;
    for (std::size_t space = text.find(' '); space != std::string::npos; space = text.find(' ', space + 1)) {
        if (!scheme_ends_at(space)) continue;
        const std::size_t start = space + 1;
        std::size_t end = start;
        while (end < text.size() && is_token_char(text[end])) ++end;
        if (end - start < kMinCredential) continue;
        out.append(text, copied, start - copied);
        out += kRedacted;
        copied = end;
    }
    if (copied == 0) return;
    out.append(text, copied, std::string::npos);
    text = std::move(out);
}

void replace_all(std::string& text, std::string_view needle, std::string_view with) {
    for (std::size_t pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + with.size())) {
        text.replace(pos, needle.size(), with);
    }
}

// Each secret long enough to mask (shorter ones would shred ordinary words), then its
// spelling inside a JSON string when escaping changes it: once per formatter, not per line.
std::vector<std::string> secret_needles(const std::vector<std::string>& secrets) {
    constexpr std::size_t kMinSecret = 6;
    std::vector<std::string> needles;
    for (const auto& secret : secrets) {
        if (secret.size() < kMinSecret) continue;
        needles.push_back(secret);
        const std::string escaped = json_string(secret);
        const std::string_view inner = std::string_view(escaped).substr(1, escaped.size() - 2);
        if (inner != secret) needles.emplace_back(inner);
    }
    return needles;
}

void scrub_needles_in_place(std::string& out, const std::vector<std::string>& needles) {
    for (const auto& needle : needles) replace_all(out, needle, kRedacted);
    mask_after_scheme(out, "Bearer ");
    mask_after_scheme(out, "Token ");
}

void scrub_secrets_in_place(std::string& out, const std::vector<std::string>& secrets) {
    scrub_needles_in_place(out, secret_needles(secrets));
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view text) {
    const std::string value = lower(text);
    if (value == "json") return LogFormat::json;
    if (value == "text") return LogFormat::text;
    return std::nullopt;
}

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text) {
    const std::string value = lower(text);
    if (value == "trace") return spdlog::level::trace;
    if (value == "debug") return spdlog::level::debug;
    if (value == "info") return spdlog::level::info;
    if (value == "warning" || value == "warn") return spdlog::level::warn;
    if (value == "error") return spdlog::level::err;
    if (value == "critical") return spdlog::level::critical;
    if (value == "off") return spdlog::level::off;
    return std::nullopt;
}

std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
            return "TRACE";
        case spdlog::level::debug:
            return "DEBUG";
        case spdlog::level::info:
            return "INFO";
        case spdlog::level::warn:
            return "WARNING";
        case spdlog::level::err:
            return "ERROR";
        case spdlog::level::critical:
            return "CRITICAL";
        default:
            return "OFF";
    }
}

bool is_sensitive_field_name(std::string_view name) {
    static constexpr std::array kWords = {"token",         "password", "passwd",     "secret",
                                          "authorization", "cookie",   "api_key",    "apikey",
                                          "credential",    "jwt",      "private_key"};
    const std::string value = lower(name);
    for (std::string_view word : kWords) {
        if (value.find(word) != std::string::npos) return true;
    }
    return false;
}

std::string scrub_secrets(std::string_view text, const std::vector<std::string>& secrets) {
    std::string out(text);
    scrub_secrets_in_place(out, secrets);
    return out;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, std::vector<std::string> secrets) {
    if (format == LogFormat::text) return std::make_unique<TextLogFormatter>(std::move(secrets));
    return std::make_unique<JsonLogFormatter>(std::move(secrets));
}

std::shared_ptr<spdlog::logger> configure_logging(const LogConfig& config) {
    auto sink = std::make_shared<BufferedSink>(stdout, config.flush_interval);
    auto logger = std::make_shared<spdlog::logger>("broker", std::move(sink));
    logger->set_formatter(make_log_formatter(config.format, config.secrets));
    logger->set_level(config.level);
    // Errors reach the terminal at once even when stdout is a pipe.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    return logger;
}

void append_log_member(std::string& members, std::string_view name, std::string_view text) {
    members += ",\"";
    members += name;
    members += "\":";
    append_json_string(members, text);
}

void append_log_member(std::string& members, std::string_view name, std::int64_t number) {
    members += ",\"";
    members += name;
    members += "\":";
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
    members.append(digits, end);
}

void append_log_member_ms(std::string& members, std::string_view name, double milliseconds) {
    members += ",\"";
    members += name;
    members += "\":";
    append_json_number(members, milliseconds);
}

// The digits "{:.3f}" writes for duration / 1000 ms, without fmt's floating-point path.
void append_log_member_ms(std::string& members, std::string_view name, std::chrono::microseconds duration) {
    members += ",\"";
    members += name;
    members += "\":";
    std::int64_t micros = duration.count();
    if (micros < 0) {
        members += '-';
        micros = -micros;
    }
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, micros / 1000).ptr;
    members.append(digits, end);
    const auto rest = static_cast<int>(micros % 1000);
    const char fraction[] = {'.', static_cast<char>('0' + rest / 100),
                             static_cast<char>('0' + rest / 10 % 10), static_cast<char>('0' + rest % 10)};
    members.append(fraction, sizeof fraction);
}

void log_event(spdlog::logger& target, spdlog::level::level_enum level, std::string_view logger,
               std::string_view message, const LogFields& fields) {
    if (!target.should_log(level)) return;
    // One buffer per thread, reused event after event (nothing in log_event_members logs again).
    thread_local std::string members;
    members.clear();
    auto member = [&](std::string_view name, const std::optional<std::string>& value) {
        if (value) append_log_member(members, name, *value);
    };
    member("request_id", fields.request_id);
    member("track_id", fields.track_id);
    member("instruqt_track_id", fields.instruqt_track_id);
    member("sandbox_id", fields.sandbox_id);
    member("action", fields.action);
    member("outcome", fields.outcome);
    // A number, so filters such as { $.latency_ms > 1000 } compare numerically.
    if (fields.latency_ms) append_log_member_ms(members, "latency_ms", *fields.latency_ms);
    if (fields.status) append_log_member(members, "status", std::int64_t{*fields.status});
    member("error", fields.error);
    for (const auto& [name, value] : fields.extra) {
        members += ',';
        append_json_string(members, name);
        members += ':';
        if (is_sensitive_field_name(name)) {
            append_json_string(members, kRedacted);
            continue;
        }
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    append_json_string(members, v);
                } else if constexpr (std::is_same_v<T, bool>) {
                    members += v ? "true" : "false";
                } else if constexpr (std::is_same_v<T, double>) {
                    append_json_number(members, v);
                } else {
                    members += std::to_string(v);
                }
            },
            value.value());
    }
    log_event_members(target, level, logger, message, members);
    if (members.capacity() > kKeptBufferBytes) std::string().swap(members);  // a huge event: give it back
}

void log_event_members(spdlog::logger& target, spdlog::level::level_enum level, std::string_view logger,
                       std::string_view message, std::string_view members) {
    if (!target.should_log(level)) return;
    // The broker's own logger (configure_logging): the sink formats the event itself, without
    // spdlog's message, its payload round trip and its per-line buffer.
    const auto& sinks = target.sinks();
    if (sinks.size() == 1 && typeid(*sinks.front()) == typeid(BufferedSink)) {
        auto& sink = static_cast<BufferedSink&>(*sinks.front());
        if (!sink.should_log(level)) return;
        bool written = false;
        try {
            written = sink.log_event(level, logger, message, members);
        } catch (...) {
            // Logging never throws into its caller: the spdlog path below tries again, and
            // spdlog hands what fails there to its error handler, as for every other line.
        }
        if (written) {
            if (level >= target.flush_level() && level != spdlog::level::off) sink.flush();
            return;
        }
    }
    // Any other sink gets an spdlog message; the formatter takes the fields back out of it.
    thread_local std::string payload;
    payload.clear();
    payload += event_tag();
    for (char c : logger) payload += c == kSep ? '?' : c;
    payload += kSep;
    payload += members;
    payload += kSep;
    payload += message;
    target.log(level, spdlog::string_view_t(payload.data(), payload.size()));
    if (payload.capacity() > kKeptBufferBytes) std::string().swap(payload);  // a huge event: give it back
}

void log_event(spdlog::level::level_enum level, std::string_view logger, std::string_view message,
               const LogFields& fields) {
    log_event(*spdlog::default_logger_raw(), level, logger, message, fields);
}

}  // namespace broker
