// Query-string parsing: see query.hpp.
#include "http/query.hpp"

namespace broker {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits
            const int high = hex_value(text[i + 1]);
            const int low = hex_value(text[i + 2]);
            if (high < 0 || low < 0) return std::nullopt;
            c = static_cast<char>(high * 16 + low);
            i += 2;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return std::nullopt;
        out.push_back(c);
    }
    return out;
}

}  // namespace

std::optional<QueryParams> parse_query(std::string_view query) {
    QueryParams params;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;  // "a=1&&b=2"
        const auto eq = pair.find('=');
        auto name = decode(pair.substr(0, eq));
        auto value =
            eq == std::string_view::npos ? std::optional<std::string>("") : decode(pair.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        params.emplace(std::move(*name), std::move(*value));  // the first value wins
    }
    return params;
}

std::optional<std::string> query_value(const QueryParams& params, std::string_view name) {
    const auto it = params.find(name);
    if (it == params.end()) return std::nullopt;
    return it->second;
}

}  // namespace broker
