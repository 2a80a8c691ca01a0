// Reading one setting from the environment: trimmed text, a number within bounds, a boolean.
// Every configuration reader (broker, jobs, provider, PostgreSQL) goes through these, so a
// bad value fails the same way everywhere: a ConfigError whose message names the variable.
#pragma once

#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace broker {

// Looks a variable up; empty optional when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// `text` without leading and trailing spaces, tabs and line ends.
std::string trim_setting(std::string_view text);

// The variable's value, trimmed; nothing when unset.
std::optional<std::string> env_text(const EnvLookup& env, const std::string& name);

// 1/true/yes/on or 0/false/no/off (any case); nothing when unset; ConfigError otherwise.
std::optional<bool> env_bool(const EnvLookup& env, const std::string& name);

namespace env_detail {
[[noreturn]] void not_a_number(const std::string& name, const std::string& text);
[[noreturn]] void out_of_range(const std::string& name, const std::string& text, double min, double max);
}  // namespace env_detail

// The variable as a number in [min, max] (an integer type, or double: finite only); nothing
// when unset; ConfigError naming the variable when it is not such a number.
template <class T>
std::optional<T> env_number(const EnvLookup& env, const std::string& name, T min, T max) {
    const auto text = env_text(env, name);
    if (!text) return std::nullopt;
    T value{};
    const char* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, value);
    bool ok = !text->empty() && ec == std::errc() && ptr == end;
    if constexpr (std::is_floating_point_v<T>) ok = ok && std::isfinite(value);
    if (!ok) env_detail::not_a_number(name, *text);
    if (value < min || value > max) {
        env_detail::out_of_range(name, *text, static_cast<double>(min), static_cast<double>(max));
    }
    return value;
}

}  // namespace broker
