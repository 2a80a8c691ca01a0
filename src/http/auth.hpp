// Authentication, in one place. Bearer tokens (participant, admin, viewer) are compared in
// constant time (SHA-256 digests of both sides compared with CRYPTO_memcmp), so neither the
// content nor the length of a configured token leaks through response timing. Tokens are
// never logged. The admin API also accepts the dashboard's signed session cookie (with its
// CSRF token on anything that changes state) and, from a trusted proxy, a header naming the
// user the proxy signed in.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "http/client_key.hpp"
#include "http/dashboard/session_cookie.hpp"
#include "http/request_context.hpp"
#include "http/router.hpp"

namespace broker {

// The token of an `Authorization: Bearer <token>` header value. The scheme is
// case-insensitive; empty tokens and tokens with whitespace inside are refused.
std::optional<std::string_view> parse_bearer(std::string_view header_value);

// Whether a equals b, in time that depends on neither's content nor length.
bool constant_time_equal(std::string_view a, std::string_view b);

struct AuthOptions {
    std::string api_token;
    std::string admin_token;
    std::string viewer_token;  // empty: no viewer token
    // Dashboard sessions: the HMAC key (empty: no sessions) and how long one lasts.
    std::string session_key;
    std::chrono::seconds session_ttl{8 * 3600};
    // A header a trusted proxy sets to the user it signed in (empty: none believed), and
    // the role such a user gets.
    std::string trusted_user_header;
    Role trusted_user_role = Role::viewer;
    TrustedProxies trusted_proxies;

    // From the configuration; throws ConfigError for an unreadable TRUSTED_PROXIES.
    static AuthOptions from(const Config& config);
};

// The last bearer token a connection presented that granted a role, and that role: a
// keep-alive client presents the same token request after request, and comparing it with
// the one before costs a fraction of its digest. Kept by the connection, never logged. The
// comparison is constant-time over a fixed width (the lengths compared the same way), so a
// request riding a connection another client used (behind a proxy) learns nothing from its
// timing but whether it presented that very token.
class TokenMemo {
  public:
    static constexpr std::size_t kMaxToken = 128;  // longer tokens are always digested

    // The role remembered for `token`, or nullopt when it is not the remembered one.
    std::optional<Role> recall(std::string_view token) const;
    // Remembers `token` with the role it granted (Role::none forgets).
    void remember(std::string_view token, Role role);

    TokenMemo() = default;
    TokenMemo(const TokenMemo&) = delete;
    TokenMemo& operator=(const TokenMemo&) = delete;
    // The remembered token is wiped, not left in freed memory.
    ~TokenMemo();

  private:
    std::array<unsigned char, kMaxToken> token_{};
    std::size_t size_ = 0;
    Role role_ = Role::none;
};

class Authenticator {
  public:
    // Bearer tokens only. An empty token matches nothing (so an unset admin token cannot be
    // guessed as "").
    Authenticator(std::string_view api_token, std::string_view admin_token);
    // Everything in `options`; `clock` dates sessions.
    Authenticator(const AuthOptions& options, const Clock& clock);

    // The role the Authorization header value grants; Role::none when missing or wrong.
    Role authenticate(std::string_view authorization_header) const;
    // The role a bare token grants (what the dashboard's sign-in form posts).
    Role token_role(std::string_view token) const;

    // The role a request to a route of `access` is made with (ctx.token_memo, when set, spares
    // the digest of the token the connection presented last). A bearer token decides when
    // the request has one; otherwise, on the admin API only, a valid session cookie, then
    // the trusted proxy's user header. Requests that change state (not GET or HEAD) by
    // session need the session's CSRF token in X-CSRF-Token, and by the proxy's header
    // alone are refused: a browser attaches both by itself, so neither proves intent.
    struct Result {
        Role role = Role::none;
        std::string_view refusal;  // with Role::none: refused with 403 and this message
    };
    Result authenticate(const RequestContext& ctx, Access access) const;

    // The dashboard session the request's cookie carries, when valid.
    std::optional<DashboardSession> session_of(const Request& request) const;
    // The role the trusted proxy's user header grants the request; Role::none without one.
    Role trusted_user_role_of(const RequestContext& ctx) const;
    // The dashboard sessions; null when they are off.
    const SessionCookies* sessions() const { return sessions_.get(); }
    // Whether the request came through a trusted proxy that says the client used https.
    bool behind_tls(const RequestContext& ctx) const;

    using Digest = std::array<unsigned char, 32>;
    // SHA-256 of the text.
    static Digest digest(std::string_view text);

  private:
    bool from_trusted_proxy(const RequestContext& ctx) const;

    std::optional<Digest> api_;
    std::optional<Digest> admin_;
    std::optional<Digest> viewer_;
    std::unique_ptr<SessionCookies> sessions_;
    std::string trusted_user_header_;
    Role trusted_user_role_ = Role::viewer;
    TrustedProxies trusted_proxies_;
};

}  // namespace broker
