// JSON objects written straight into their text: see json_object.hpp.
#include "http/json_object.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace broker {

void append_json_text(std::string& out, std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(),
                                   [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
        return;
    }
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void JsonObject::name(std::string_view name) {
    text_ += text_.empty() ? '{' : ',';
    append_json_text(text_, name);
    text_ += ':';
}

JsonObject& JsonObject::add(std::string_view name, std::string_view value) {
    this->name(name);
    append_json_text(text_, value);
    return *this;
}

JsonObject& JsonObject::add(std::string_view name, std::int64_t value) {
    this->name(name);
    text_ += std::to_string(value);
    return *this;
}

JsonObject& JsonObject::add(std::string_view name, const std::optional<std::int64_t>& value) {
    if (value) return add(name, *value);
    this->name(name);
    text_ += "null";
    return *this;
}

std::string JsonObject::finish() {
    if (text_.empty()) text_ += '{';
    text_ += '}';
    return std::move(text_);
}

}  // namespace broker
