// Cursor encoding: see cursor.hpp. base64url without padding: safe in a query string as is.
#include "service/cursor.hpp"

#include <array>
#include <cstdint>

namespace broker {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kVersion = "s1:";  // what the position is: after this sandbox id
constexpr std::size_t kMaxCursor = 512;

int sextet(char c) {
    const auto at = kAlphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

std::string base64url(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : bytes) {
        buffer = (buffer << 8) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
    return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;  // no byte count leaves one sextet over
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        const int value = sextet(c);
        if (value < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    // Leftover bits must be zero, or two texts would decode to the same cursor.
    if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace

std::string encode_cursor(std::string_view last_sandbox_id) {
    return base64url(std::string(kVersion) + std::string(last_sandbox_id));
}

std::optional<std::string> decode_cursor(std::string_view cursor) {
    if (cursor.empty() || cursor.size() > kMaxCursor) return std::nullopt;
    auto decoded = unbase64url(cursor);
    if (!decoded || !decoded->starts_with(kVersion) || decoded->size() == kVersion.size())
        return std::nullopt;
    for (char c : *decoded) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return std::nullopt;
    }
    return decoded->substr(kVersion.size());
}

}  // namespace broker
