// A JSON object written straight into its text, for answers on the hot path (allocation,
// look-up, mark-for-deletion) where building an nlohmann tree first cost more than the rest
// of the answer. The text is what nlohmann's dump (error_handler_t::replace) would write
// for the same members, so callers add members in its order: by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace broker {

class JsonObject {
  public:
    JsonObject() { text_.reserve(256); }

    JsonObject& add(std::string_view name, std::string_view value);
    JsonObject& add(std::string_view name, std::int64_t value);
    // null when empty
    JsonObject& add(std::string_view name, const std::optional<std::int64_t>& value);

    // The object's text, moved out: the object is spent.
    std::string finish();

  private:
    void name(std::string_view name);

    std::string text_;
};

}  // namespace broker
