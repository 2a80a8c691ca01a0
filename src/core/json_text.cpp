// JSON string literals appended to a buffer: see json_text.hpp.
#include "core/json_text.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace broker {
namespace {

// The bytes a JSON string literal holds as they are: printable ASCII but the quote and the
// backslash. A table looked up per byte: the value checks of an allocation's answer, its
// event and its log line showed in a profile as four comparisons per byte.
constexpr std::array<bool, 256> kPlain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x7f; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return plain;
}();

bool is_plain(std::string_view text) {
    for (const char c : text) {
        if (!kPlain[static_cast<unsigned char>(c)]) return false;
    }
    return true;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    if (is_plain(text)) {
        out.reserve(out.size() + text.size() + 2);
        out.push_back('"');
        out.append(text);
        out.push_back('"');
        return;
    }
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace broker
