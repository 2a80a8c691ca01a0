// One-line excerpts of outside text for messages.
#include "core/excerpt.hpp"

namespace broker {

std::string excerpt(std::string_view text, std::size_t max_chars) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return "";
    text.remove_prefix(first);
    std::string out;
    for (char c : text.substr(0, max_chars)) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    if (text.size() > max_chars) out += "...";
    return out;
}

}  // namespace broker
