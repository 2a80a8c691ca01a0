// Bearer-token authentication. Tokens are compared in constant time (SHA-256 digests of
// both sides compared with CRYPTO_memcmp), so neither the content nor the length of a
// configured token leaks through response timing. Tokens are never logged.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "http/request_context.hpp"

namespace broker {

// The token of an `Authorization: Bearer <token>` header value. The scheme is
// case-insensitive; empty tokens and tokens with whitespace inside are refused.
std::optional<std::string_view> parse_bearer(std::string_view header_value);

// Whether a equals b, in time that depends on neither's content nor length.
bool constant_time_equal(std::string_view a, std::string_view b);

class Authenticator {
  public:
    // An empty token matches nothing (so an unset admin token cannot be guessed as "").
    Authenticator(std::string_view api_token, std::string_view admin_token);

    // The role the Authorization header value grants; Role::none when missing or wrong.
    Role authenticate(std::string_view authorization_header) const;

    using Digest = std::array<unsigned char, 32>;
    // SHA-256 of the text.
    static Digest digest(std::string_view text);

  private:
    std::optional<Digest> api_;
    std::optional<Digest> admin_;
};

}  // namespace broker
