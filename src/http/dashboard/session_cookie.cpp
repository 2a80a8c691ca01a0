#include "http/dashboard/session_cookie.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace broker {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr std::string_view kKeyLabel = "sandbox-broker dashboard session key v1";
constexpr std::size_t kNonceBytes = 16;

std::string base64url(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    const int written =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(written));
    for (char& c : out) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data(), &size)) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return std::string(reinterpret_cast<const char*>(digest.data()), size);
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
    // Both sides are MACs of a fixed length: their lengths tell nothing.
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view role_letter(Role role) {
    switch (role) {
        case Role::admin:
            return "a";
        case Role::viewer:
            return "v";
        default:
            throw std::invalid_argument("a dashboard session is for the admin or the viewer role");
    }
}

std::vector<std::string_view> split_dots(std::string_view text) {
    std::vector<std::string_view> parts;
    while (true) {
        const auto dot = text.find('.');
        parts.push_back(text.substr(0, dot));
        if (dot == std::string_view::npos) break;
        text.remove_prefix(dot + 1);
    }
    return parts;
}

}  // namespace

SessionCookies::SessionCookies(std::string key, std::chrono::seconds ttl, const Clock& clock)
    : key_(std::move(key)), ttl_(ttl), clock_(clock) {
    if (key_.empty()) throw std::invalid_argument("the session key is empty");
}

std::string SessionCookies::derive_key(std::string_view session_secret, std::string_view admin_token) {
    if (!session_secret.empty()) return std::string(session_secret);
    return hmac_sha256(admin_token, kKeyLabel);
}

std::string SessionCookies::mac(std::string_view text) const {
    const std::string raw = hmac_sha256(key_, text);
    return base64url(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

DashboardSession SessionCookies::issue(Role role) const {
    role_letter(role);  // refuses other roles
    std::array<unsigned char, kNonceBytes> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return DashboardSession{role, clock_.now() + ttl_.count(), base64url(nonce.data(), nonce.size())};
}

std::string SessionCookies::encode(const DashboardSession& session) const {
    const std::string payload = std::string(kVersion) + "." + std::string(role_letter(session.role)) + "." +
                                std::to_string(session.expires_at) + "." + session.nonce;
    return payload + "." + mac(payload);
}

std::optional<DashboardSession> SessionCookies::verify(std::string_view value) const {
    if (value.size() > 256) return std::nullopt;
    const auto parts = split_dots(value);
    if (parts.size() != 5 || parts[0] != kVersion) return std::nullopt;
    const std::string_view payload = value.substr(0, value.size() - parts[4].size() - 1);
    if (!equal_in_constant_time(mac(payload), parts[4])) return std::nullopt;
    DashboardSession session;
    if (parts[1] == "a") {
        session.role = Role::admin;
    } else if (parts[1] == "v") {
        session.role = Role::viewer;
    } else {
        return std::nullopt;
    }
    const auto [end, error] =
        std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), session.expires_at);
    if (error != std::errc{} || end != parts[2].data() + parts[2].size()) return std::nullopt;
    if (clock_.now() >= session.expires_at) return std::nullopt;
    session.nonce = std::string(parts[3]);
    return session;
}

std::string SessionCookies::csrf_token(const DashboardSession& session) const {
    return mac("csrf." + session.nonce);
}

bool SessionCookies::csrf_matches(const DashboardSession& session, std::string_view presented) const {
    return !presented.empty() && equal_in_constant_time(csrf_token(session), presented);
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto semicolon = header.find(';');
        std::string_view pair = header.substr(0, semicolon);
        header = semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
    return std::nullopt;
}

std::string session_set_cookie(std::string_view value, std::chrono::seconds max_age, bool secure) {
    std::string cookie = std::string(SessionCookies::kCookieName) + "=" + std::string(value) +
                         "; Path=/; Max-Age=" + std::to_string(max_age.count()) +
                         "; HttpOnly; SameSite=Strict";
    if (secure) cookie += "; Secure";
    return cookie;
}

}  // namespace broker
