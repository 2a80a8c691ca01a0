#include "core/env_value.hpp"

#include <cctype>
#include <sstream>

#include "core/errors.hpp"

namespace broker {
namespace {

std::string bound_text(double bound) {
    std::ostringstream out;
    out.precision(15);
    out << bound;
    return out.str();
}

}  // namespace

std::string trim_setting(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

std::optional<std::string> env_text(const EnvLookup& env, const std::string& name) {
    auto raw = env(name);
    if (!raw) return std::nullopt;
    return trim_setting(*raw);
}

std::optional<bool> env_bool(const EnvLookup& env, const std::string& name) {
    const auto raw = env(name);
    if (!raw) return std::nullopt;
    std::string text = trim_setting(*raw);
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (text == "1" || text == "true" || text == "yes" || text == "on") return true;
    if (text == "0" || text == "false" || text == "no" || text == "off") return false;
    throw ConfigError(name + "=\"" + *raw + "\" is not a boolean (true/false)");
}

namespace env_detail {

void not_a_number(const std::string& name, const std::string& text) {
    throw ConfigError(name + "=\"" + text + "\" is not a number");
}

void out_of_range(const std::string& name, const std::string& text, double min, double max) {
    throw ConfigError(name + "=" + text + " is out of range [" + bound_text(min) + ", " + bound_text(max) +
                      "]");
}

}  // namespace env_detail
}  // namespace broker
