// The dashboard's session cookie: a signed, expiring value that carries the role it grants,
// so every replica holding the same key verifies it without shared state. HMAC-SHA256 over
// "v1.<role>.<expires_at>.<nonce>"; the CSRF token of a session is an HMAC of its nonce, which
// the page sends back in a header on every state-changing request (the cookie alone, which a
// browser attaches by itself, is never enough to change anything).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "http/request_context.hpp"

namespace broker {

struct DashboardSession {
    Role role = Role::none;  // admin or viewer
    UnixSeconds expires_at = 0;
    std::string nonce;  // random, base64url: what the CSRF token is derived from
};

class SessionCookies {
  public:
    static constexpr std::string_view kCookieName = "broker_session";
    static constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

    // `key`: the HMAC key (at least one byte). Sessions last `ttl` from issue().
    SessionCookies(std::string key, std::chrono::seconds ttl, const Clock& clock);

    // The key every replica derives alike: DASHBOARD_SESSION_SECRET when set, else an HMAC of
    // a fixed label under the admin token (so rotating that token ends every session).
    static std::string derive_key(std::string_view session_secret, std::string_view admin_token);

    // A new session for `role` (admin or viewer; throws std::invalid_argument otherwise).
    DashboardSession issue(Role role) const;
    // The cookie value of a session.
    std::string encode(const DashboardSession& session) const;
    // The session a cookie value carries, when its signature is right and it has not expired.
    std::optional<DashboardSession> verify(std::string_view value) const;

    // The CSRF token of a session, and whether `presented` is it (constant time).
    std::string csrf_token(const DashboardSession& session) const;
    bool csrf_matches(const DashboardSession& session, std::string_view presented) const;

    std::chrono::seconds ttl() const { return ttl_; }
    const Clock& clock() const { return clock_; }

  private:
    std::string mac(std::string_view text) const;  // base64url HMAC-SHA256

    std::string key_;
    std::chrono::seconds ttl_;
    const Clock& clock_;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"); nullopt when absent.
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);

// The Set-Cookie value for a session cookie holding `value` for `max_age` (0: removes it).
std::string session_set_cookie(std::string_view value, std::chrono::seconds max_age, bool secure);

}  // namespace broker
