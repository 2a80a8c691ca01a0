// JSON objects written straight into their text: see json_object.hpp.
#include "http/json_object.hpp"

#include "core/json_text.hpp"

namespace broker {

void JsonObject::name(std::string_view name) {
    text_ += text_.empty() ? '{' : ',';
    append_json_string(text_, name);
    text_ += ':';
}

JsonObject& JsonObject::add(std::string_view name, std::string_view value) {
    this->name(name);
    append_json_string(text_, value);
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
