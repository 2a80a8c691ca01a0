// The operator dashboard at /dashboard: a page, its stylesheet and script and Chart.js, all
// compiled into the binary, and its sign-in. The page reads and steers the broker only
// through the admin API; signing in trades the admin or viewer token, once, for a signed
// session cookie (http/dashboard/session_cookie) that the admin API accepts as well.
#pragma once

#include <string>
#include <vector>

#include "http/auth.hpp"
#include "http/router.hpp"

namespace broker {

class DashboardPage {
  public:
    static constexpr std::string_view kPath = "/dashboard";
    static constexpr std::string_view kSessionPath = "/dashboard/session";
    // The page's files: its own scripts and styles only, fetches of its own origin only (the
    // one data: image is the page's empty icon, so the browser asks for no /favicon.ico).
    static constexpr std::string_view kCsp =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    // `cookie_secure`: DASHBOARD_COOKIE_SECURE (auto, true or false). `auth` must outlive this.
    DashboardPage(const Authenticator& auth, std::string api_base, std::string cookie_secure);

    // Registers the page, its files and the session routes. This object must outlive the router.
    void add_routes(Router& router);

    // The route templates that serve the page and its files (they get kCsp).
    std::vector<std::string> page_paths() const;

  private:
    asio::awaitable<Response> get_session(RequestContext& ctx) const;
    asio::awaitable<Response> sign_in(RequestContext& ctx) const;
    asio::awaitable<Response> sign_out(RequestContext& ctx) const;
    Response session_response(const RequestContext& ctx, const DashboardSession& session,
                              bool set_cookie) const;
    bool secure_cookie(const RequestContext& ctx) const;

    const Authenticator& auth_;
    std::string api_base_;
    std::string cookie_secure_;
};

}  // namespace broker
