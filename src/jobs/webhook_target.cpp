// Where a webhook may be sent: see webhook_target.hpp.
#include "jobs/webhook_target.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <memory>

namespace broker {
namespace {

constexpr std::size_t kMaxUrlLength = 2048;

struct UrlDeleter {
    void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct PartDeleter {
    void operator()(char* part) const { curl_free(part); }
};

std::optional<std::string> url_part(CURLU* url, CURLUPart which) {
    char* raw = nullptr;
    if (curl_url_get(url, which, &raw, 0) != CURLUE_OK || raw == nullptr) return std::nullopt;
    std::unique_ptr<char, PartDeleter> part(raw);
    return std::string(raw);
}

std::unique_ptr<CURLU, UrlDeleter> parse(std::string_view text) {
    std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
    if (!url) return nullptr;
    const std::string copy(text);
    if (curl_url_set(url.get(), CURLUPART_URL, copy.c_str(), 0) != CURLUE_OK) return nullptr;
    return url;
}

bool internal_v4(std::uint32_t a) {
    const auto in = [a](std::uint32_t net, int bits) {
        const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
        return (a & mask) == net;
    };
    return in(0x00000000, 8) ||   // 0.0.0.0/8 "this network"
           in(0x0A000000, 8) ||   // 10/8
           in(0x64400000, 10) ||  // 100.64/10 carrier-grade NAT
           in(0x7F000000, 8) ||   // loopback
           in(0xA9FE0000, 16) ||  // 169.254/16 link-local (instance metadata)
           in(0xAC100000, 12) ||  // 172.16/12
           in(0xC0000000, 24) ||  // 192.0.0/24 protocol assignments
           in(0xC0A80000, 16) ||  // 192.168/16
           in(0xC6120000, 15) ||  // 198.18/15 benchmarking
           in(0xE0000000, 4) ||   // multicast
           in(0xF0000000, 4);     // reserved, broadcast
}

}  // namespace

std::optional<std::string> webhook_url_problem(std::string_view text) {
    if (text.empty()) return std::string("url is required");
    if (text.size() > kMaxUrlLength)
        return "url is longer than " + std::to_string(kMaxUrlLength) + " characters";
    const auto url = parse(text);
    if (!url) return std::string("url is not a valid URL");
    const auto scheme = url_part(url.get(), CURLUPART_SCHEME);
    if (!scheme || (*scheme != "http" && *scheme != "https")) return std::string("url must be http or https");
    // libcurl reads "https:///host" as "https://host": only the usual form is taken.
    if (!text.starts_with(*scheme + "://") || text.substr(scheme->size() + 3).starts_with("/"))
        return std::string("url must start with http:// or https:// and a host");
    const auto host = url_part(url.get(), CURLUPART_HOST);
    if (!host || host->empty()) return std::string("url has no host");
    if (url_part(url.get(), CURLUPART_USER) || url_part(url.get(), CURLUPART_PASSWORD))
        return std::string("url must not hold credentials (the signature authenticates the broker)");
    if (url_part(url.get(), CURLUPART_FRAGMENT)) return std::string("url must not have a fragment");
    return std::nullopt;
}

std::string webhook_url_host(std::string_view text) {
    const auto url = parse(text);
    if (!url) return {};
    std::string host = url_part(url.get(), CURLUPART_HOST).value_or("");
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return host;
}

bool is_internal_address(const ::sockaddr* address) {
    if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        return internal_v4(ntohl(v4->sin_addr.s_addr));
    }
    if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        const unsigned char* b = v6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) || IN6_IS_ADDR_V4COMPAT(&v6->sin6_addr)) {
            const std::uint32_t a = (std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) |
                                    (std::uint32_t{b[14]} << 8) | std::uint32_t{b[15]};
            return internal_v4(a);
        }
        return IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
               IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr) || IN6_IS_ADDR_SITELOCAL(&v6->sin6_addr) ||
               IN6_IS_ADDR_MULTICAST(&v6->sin6_addr) || (b[0] & 0xFE) == 0xFC;  // fc00::/7 unique-local
    }
    return true;  // neither IPv4 nor IPv6: nothing a webhook should reach
}

std::optional<std::string> internal_target_problem(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
        return "url host " + host + " does not resolve";
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (is_internal_address(a->ai_addr)) {
            return "url host " + host +
                   " resolves to an internal address (WEBHOOK_ALLOW_PRIVATE_TARGETS=false)";
        }
    }
    return std::nullopt;
}

}  // namespace broker
