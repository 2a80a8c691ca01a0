// IP and CIDR parsing, trusted-proxy resolution of X-Forwarded-For, and the rate-limit key.
#include "http/client_key.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/errors.hpp"
#include "runtime/http_text.hpp"

namespace broker {

namespace {

bool is_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<IpAddress> parse_bare_ip(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress address;
    if (inet_pton(AF_INET, buf, address.bytes.data()) == 1) return address;
    if (inet_pton(AF_INET6, buf, address.bytes.data()) != 1) return std::nullopt;
    static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(address.bytes.data(), kMappedPrefix, 12) == 0) {
        IpAddress v4;
        std::memcpy(v4.bytes.data(), address.bytes.data() + 12, 4);
        return v4;
    }
    address.is_v4 = false;
    return address;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
    text = trim_ows(text);
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && !(rest.front() == ':' && is_digits(rest.substr(1)))) return std::nullopt;
        text = text.substr(1, close - 1);
    } else if (const auto colon = text.find(':');
               colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
        // Exactly one colon: IPv4 with a port.
        if (!is_digits(text.substr(colon + 1))) return std::nullopt;
        text = text.substr(0, colon);
    }
    if (const auto percent = text.find('%'); percent != std::string_view::npos)
        text = text.substr(0, percent);
    return parse_bare_ip(text);
}

std::string to_string(const IpAddress& address) {
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(address.is_v4 ? AF_INET : AF_INET6, address.bytes.data(), buf, sizeof buf)) return {};
    return buf;
}

bool Cidr::contains(const IpAddress& address) const {
    if (address.is_v4 != network.is_v4) return false;
    const int full_bytes = prefix_length / 8;
    if (std::memcmp(address.bytes.data(), network.bytes.data(), static_cast<std::size_t>(full_bytes)) != 0) {
        return false;
    }
    const int rest_bits = prefix_length % 8;
    if (rest_bits == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest_bits));
    return (address.bytes[full_bytes] & mask) == network.bytes[full_bytes];
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    text = trim_ows(text);
    const auto slash = text.find('/');
    auto address = parse_bare_ip(slash == std::string_view::npos ? text : text.substr(0, slash));
    if (!address) return std::nullopt;
    const int max_length = address->is_v4 ? 32 : 128;
    int length = max_length;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        if (!is_digits(digits) || digits.size() > 3) return std::nullopt;
        std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (length > max_length) return std::nullopt;
    }
    // Mask host bits so `10.1.2.3/8` means 10.0.0.0/8.
    for (int i = 0; i < 16; ++i) {
        const int bits_kept = std::clamp(length - i * 8, 0, 8);
        address->bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - bits_kept));
    }
    return Cidr{*address, length};
}

TrustedProxies TrustedProxies::parse(std::string_view list) {
    std::vector<Cidr> ranges;
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t end = list.find_first_of(", ", pos);
        if (end == std::string_view::npos) end = list.size();
        const std::string_view entry = trim_ows(list.substr(pos, end - pos));
        if (!entry.empty()) {
            auto cidr = parse_cidr(entry);
            if (!cidr)
                throw ConfigError("TRUSTED_PROXIES: not an IP address or CIDR range: " + std::string(entry));
            ranges.push_back(*cidr);
        }
        pos = end + 1;
    }
    return TrustedProxies(std::move(ranges));
}

bool TrustedProxies::contains(const IpAddress& address) const {
    for (const auto& range : ranges_) {
        if (range.contains(address)) return true;
    }
    return false;
}

std::string client_ip(std::string_view peer, std::string_view forwarded_for, const TrustedProxies& trusted) {
    auto current = parse_ip(peer);
    if (!current) return std::string(trim_ows(peer));
    if (!trusted.contains(*current)) return to_string(*current);
    std::vector<std::string_view> hops;
    for (std::size_t pos = 0; pos <= forwarded_for.size();) {
        std::size_t comma = forwarded_for.find(',', pos);
        if (comma == std::string_view::npos) comma = forwarded_for.size();
        hops.push_back(trim_ows(forwarded_for.substr(pos, comma - pos)));
        pos = comma + 1;
    }
    // Walk from the right: each entry was appended by the hop to its right.
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
        if (it->empty()) continue;
        auto hop = parse_ip(*it);
        if (!hop) break;  // unreadable: keep the last address a trusted hop vouched for
        current = hop;
        if (!trusted.contains(*hop)) break;
    }
    return to_string(*current);
}

std::string rate_limit_key(const ClientKeyInput& input, const TrustedProxies& trusted) {
    std::string_view participant = trim_ows(input.instruqt_sandbox_id);
    if (participant.empty()) participant = trim_ows(input.track_id);
    if (!participant.empty()) {
        return "participant:" + std::string(participant.substr(0, kMaxParticipantKeyBytes));
    }
    return "ip:" + client_ip(input.peer, input.forwarded_for, trusted);
}

}  // namespace broker
