#include "http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace broker {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto la = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i])));
        const auto lb = static_cast<char>(std::tolower(static_cast<unsigned char>(b[i])));
        if (la != lb) return false;
    }
    return true;
}

}  // namespace

std::optional<std::string_view> parse_bearer(std::string_view value) {
    while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
    constexpr std::string_view kScheme = "bearer";
    if (value.size() <= kScheme.size() || !iequals(value.substr(0, kScheme.size()), kScheme))
        return std::nullopt;
    value.remove_prefix(kScheme.size());
    if (!is_space(value.front())) return std::nullopt;  // "Bearerxyz"
    while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
    if (value.empty()) return std::nullopt;
    for (char c : value) {
        if (is_space(c) || static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return std::nullopt;
    }
    return value;
}

Authenticator::Digest Authenticator::digest(std::string_view text) {
    Digest out{};
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr) != 1 ||
        size != out.size()) {
        throw std::runtime_error("SHA-256 failed");
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Hashing first makes the comparison length-independent; equal digests mean equal
    // inputs for every practical purpose.
    const auto da = Authenticator::digest(a);
    const auto db = Authenticator::digest(b);
    return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

Authenticator::Authenticator(std::string_view api_token, std::string_view admin_token) {
    if (!api_token.empty()) api_ = digest(api_token);
    if (!admin_token.empty()) admin_ = digest(admin_token);
}

Role Authenticator::authenticate(std::string_view authorization_header) const {
    const auto token = parse_bearer(authorization_header);
    if (!token) return Role::none;
    const Digest presented = digest(*token);
    // Compare against both, always, so timing does not tell which one matched.
    const bool is_admin = admin_ && CRYPTO_memcmp(presented.data(), admin_->data(), presented.size()) == 0;
    const bool is_api = api_ && CRYPTO_memcmp(presented.data(), api_->data(), presented.size()) == 0;
    if (is_admin) return Role::admin;
    if (is_api) return Role::participant;
    return Role::none;
}

}  // namespace broker
