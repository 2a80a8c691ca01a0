// The dashboard's session cookie (sign, verify, expiry, tampering), its CSRF token, the viewer
// role, and the proxy's user header, through a real Pipeline, Router and DashboardPage.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/auth.hpp"
#include "http/dashboard/dashboard_page.hpp"
#include "http/dashboard/session_cookie.hpp"
#include "http/error_response.hpp"
#include "http_edge_test_support.hpp"

namespace broker {
namespace {

using testing::make_request;
using testing::run_pipeline;

constexpr std::string_view kApi = "api-token-0123456789";
constexpr std::string_view kAdmin = "admin-token-0123456789";
constexpr std::string_view kViewer = "viewer-token-0123456789";

TEST(SessionCookies, VerifiesWhatItSignedUntilItExpires) {
    ManualClock clock;
    const SessionCookies cookies("key", std::chrono::seconds(3600), clock);
    const DashboardSession session = cookies.issue(Role::viewer);
    EXPECT_EQ(session.expires_at, clock.now() + 3600);
    const std::string value = cookies.encode(session);

    const auto verified = cookies.verify(value);
    ASSERT_TRUE(verified);
    EXPECT_EQ(verified->role, Role::viewer);
    EXPECT_EQ(verified->expires_at, session.expires_at);
    EXPECT_EQ(verified->nonce, session.nonce);

    clock.advance(std::chrono::seconds(3599));
    EXPECT_TRUE(cookies.verify(value));
    clock.advance(std::chrono::seconds(1));
    EXPECT_FALSE(cookies.verify(value)) << "expired";
}

TEST(SessionCookies, RefusesTamperedValuesAndOtherKeys) {
    ManualClock clock;
    const SessionCookies cookies("key", std::chrono::seconds(3600), clock);
    const DashboardSession session = cookies.issue(Role::viewer);
    const std::string value = cookies.encode(session);

    // The role raised to admin, the expiry pushed out, the signature of another value.
    std::string as_admin = value;
    as_admin[3] = 'a';
    EXPECT_FALSE(cookies.verify(as_admin));
    DashboardSession later = session;
    later.expires_at += 86400;
    const std::string later_value = cookies.encode(later);
    const std::string forged = later_value.substr(0, later_value.rfind('.')) + value.substr(value.rfind('.'));
    EXPECT_FALSE(cookies.verify(forged));
    for (std::string_view bad :
         {"", "v1", "v1.a.1.n", "v1.a.x.n.sig", "v2.a.1.n.sig", "v1.v.1.n.sig.extra"}) {
        EXPECT_FALSE(cookies.verify(bad)) << bad;
    }
    std::string flipped = value;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(cookies.verify(flipped));

    const SessionCookies other("another key", std::chrono::seconds(3600), clock);
    EXPECT_FALSE(other.verify(value));
    EXPECT_THROW(cookies.issue(Role::participant), std::invalid_argument);
}

TEST(SessionCookies, CsrfTokenBelongsToOneSession) {
    ManualClock clock;
    const SessionCookies cookies("key", std::chrono::seconds(3600), clock);
    const DashboardSession one = cookies.issue(Role::admin);
    const DashboardSession two = cookies.issue(Role::admin);
    EXPECT_NE(one.nonce, two.nonce);
    EXPECT_TRUE(cookies.csrf_matches(one, cookies.csrf_token(one)));
    EXPECT_FALSE(cookies.csrf_matches(one, cookies.csrf_token(two)));
    EXPECT_FALSE(cookies.csrf_matches(one, ""));
    EXPECT_FALSE(cookies.csrf_matches(one, cookies.csrf_token(one) + "x"));
}

TEST(SessionCookies, KeyIsTheSecretOrDerivedFromTheAdminToken) {
    EXPECT_EQ(SessionCookies::derive_key("explicit-secret", "admin"), "explicit-secret");
    const std::string derived = SessionCookies::derive_key("", "admin-token");
    EXPECT_EQ(derived, SessionCookies::derive_key("", "admin-token")) << "every replica derives the same key";
    EXPECT_NE(derived, SessionCookies::derive_key("", "other-admin-token"));
    EXPECT_NE(derived, "admin-token");
}

TEST(SessionCookies, ReadsCookieHeadersAndWritesStrictHttpOnlyCookies) {
    EXPECT_EQ(cookie_value("a=1; broker_session=xyz; b=2", "broker_session"), "xyz");
    EXPECT_EQ(cookie_value("broker_session=xyz", "broker_session"), "xyz");
    EXPECT_FALSE(cookie_value("xbroker_session=1; a=2", "broker_session"));
    EXPECT_FALSE(cookie_value("", "broker_session"));
    EXPECT_EQ(session_set_cookie("v", std::chrono::seconds(60), false),
              "broker_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict");
    EXPECT_EQ(session_set_cookie("", std::chrono::seconds(0), true),
              "broker_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
}

// A router with an admin read, an admin change, a participant route and the dashboard's
// session routes, authenticated as the broker does.
class DashboardAuth : public ::testing::Test {
  protected:
    DashboardAuth()
        : auth_(options("X-Auth-User", "10.0.0.0/8"), clock_),
          page_(auth_, "/v1", "auto"),
          pipeline_(router_, auth_) {
        const Handler ok = [](RequestContext&) -> asio::awaitable<Response> { co_return json_response_ok(); };
        router_.add(bhttp::verb::get, "/v1/admin/stats", Access::admin_read, ok);
        router_.add(bhttp::verb::post, "/v1/admin/jobs/{name}/pause", Access::admin, ok);
        router_.add(bhttp::verb::post, "/v1/allocate", Access::participant, ok);
        page_.add_routes(router_);
    }

    static Response json_response_ok() {
        Response res{bhttp::status::ok, 11};
        res.body() = "{}";
        return res;
    }

    static AuthOptions options(std::string trusted_header, std::string proxies) {
        AuthOptions o;
        o.api_token = kApi;
        o.admin_token = kAdmin;
        o.viewer_token = kViewer;
        o.session_key = SessionCookies::derive_key("", kAdmin);
        o.session_ttl = std::chrono::seconds(3600);
        o.trusted_user_header = std::move(trusted_header);
        o.trusted_user_role = Role::viewer;
        o.trusted_proxies = TrustedProxies::parse(proxies);
        return o;
    }

    int status(bhttp::verb method, const std::string& target,
               std::vector<std::pair<std::string, std::string>> headers,
               const std::string& peer = "127.0.0.1") {
        return run_pipeline(pipeline_, make_request(method, target, std::move(headers)), peer).result_int();
    }

    struct SignedIn {
        std::string cookie;  // "broker_session=…"
        std::string csrf;
        std::string role;
        std::string set_cookie;
    };
    std::optional<SignedIn> sign_in(std::string_view token) {
        Request req =
            make_request(bhttp::verb::post, "/dashboard/session", {{"Content-Type", "application/json"}});
        req.body() = nlohmann::json{{"token", token}}.dump();
        req.prepare_payload();
        const Response res = run_pipeline(pipeline_, req);
        if (res.result_int() != 200) return std::nullopt;
        const auto body = nlohmann::json::parse(res.body());
        SignedIn s;
        s.set_cookie = std::string(to_std(res[bhttp::field::set_cookie]));
        s.cookie = s.set_cookie.substr(0, s.set_cookie.find(';'));
        s.csrf = body["csrf_token"];
        s.role = body["role"];
        return s;
    }

    ManualClock clock_;
    Router router_;
    Authenticator auth_;
    DashboardPage page_;
    Pipeline pipeline_;
};

TEST_F(DashboardAuth, SignInTradesTheTokenForASessionCookie) {
    EXPECT_FALSE(sign_in("wrong-token-0123456789"));
    EXPECT_FALSE(sign_in(kApi)) << "the participant token does not sign in";
    const auto admin = sign_in(kAdmin);
    ASSERT_TRUE(admin);
    EXPECT_EQ(admin->role, "admin");
    EXPECT_NE(admin->set_cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(admin->set_cookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(admin->set_cookie.find("Secure"), std::string::npos) << "plain http, no trusted proxy";

    // A form post (not JSON) is refused: a cross-site page cannot sign a browser in.
    Request form = make_request(bhttp::verb::post, "/dashboard/session",
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
    form.body() = "token=" + std::string(kAdmin);
    form.prepare_payload();
    EXPECT_EQ(run_pipeline(pipeline_, form).result_int(), 400);

    // The session answers who is signed in, with the same CSRF token.
    const Response who = run_pipeline(
        pipeline_, make_request(bhttp::verb::get, "/dashboard/session", {{"Cookie", admin->cookie}}));
    EXPECT_EQ(nlohmann::json::parse(who.body())["csrf_token"], admin->csrf);
    const Response nobody = run_pipeline(pipeline_, make_request(bhttp::verb::get, "/dashboard/session"));
    EXPECT_EQ(nobody.result_int(), 200);
    EXPECT_TRUE(nlohmann::json::parse(nobody.body())["role"].is_null());
}

TEST_F(DashboardAuth, TheSessionCookieOpensTheAdminApiAndChangesNeedTheCsrfToken) {
    const auto admin = sign_in(kAdmin);
    ASSERT_TRUE(admin);
    EXPECT_EQ(status(bhttp::verb::get, "/v1/admin/stats", {{"Cookie", admin->cookie}}), 200);
    EXPECT_EQ(status(bhttp::verb::post, "/v1/admin/jobs/cleanup/pause", {{"Cookie", admin->cookie}}), 403);
    EXPECT_EQ(status(bhttp::verb::post, "/v1/admin/jobs/cleanup/pause",
                     {{"Cookie", admin->cookie}, {"X-CSRF-Token", "not-it"}}),
              403);
    EXPECT_EQ(status(bhttp::verb::post, "/v1/admin/jobs/cleanup/pause",
                     {{"Cookie", admin->cookie}, {"X-CSRF-Token", admin->csrf}}),
              200);
    // Not for participant routes: those take the bearer token only.
    EXPECT_EQ(
        status(bhttp::verb::post, "/v1/allocate", {{"Cookie", admin->cookie}, {"X-CSRF-Token", admin->csrf}}),
        401);

    clock_.advance(std::chrono::seconds(3600));
    EXPECT_EQ(status(bhttp::verb::get, "/v1/admin/stats", {{"Cookie", admin->cookie}}), 401) << "expired";

    // Signing out clears the cookie.
    const Response out = run_pipeline(pipeline_, make_request(bhttp::verb::delete_, "/dashboard/session"));
    EXPECT_EQ(out.result_int(), 204);
    EXPECT_NE(std::string(to_std(out[bhttp::field::set_cookie])).find("Max-Age=0"), std::string::npos);
}

TEST_F(DashboardAuth, TheViewerReadsEverythingAndChangesNothing) {
    const std::string bearer = "Bearer " + std::string(kViewer);
    EXPECT_EQ(status(bhttp::verb::get, "/v1/admin/stats", {{"Authorization", bearer}}), 200);
    EXPECT_EQ(status(bhttp::verb::post, "/v1/admin/jobs/cleanup/pause", {{"Authorization", bearer}}), 403);
    EXPECT_EQ(status(bhttp::verb::post, "/v1/allocate", {{"Authorization", bearer}}), 403);

    const auto viewer = sign_in(kViewer);
    ASSERT_TRUE(viewer);
    EXPECT_EQ(viewer->role, "viewer");
    EXPECT_EQ(status(bhttp::verb::get, "/v1/admin/stats", {{"Cookie", viewer->cookie}}), 200);
    const Response refused =
        run_pipeline(pipeline_, make_request(bhttp::verb::post, "/v1/admin/jobs/cleanup/pause",
                                             {{"Cookie", viewer->cookie}, {"X-CSRF-Token", viewer->csrf}}));
    EXPECT_EQ(refused.result_int(), 403);
    EXPECT_NE(refused.body().find("FORBIDDEN"), std::string::npos);
    EXPECT_NE(refused.body().find("read-only"), std::string::npos);

    // The admin token still does everything.
    const std::string admin = "Bearer " + std::string(kAdmin);
    EXPECT_EQ(status(bhttp::verb::post, "/v1/admin/jobs/cleanup/pause", {{"Authorization", admin}}), 200);
}

TEST_F(DashboardAuth, TheProxyUserHeaderCountsOnlyFromATrustedProxy) {
    const std::vector<std::pair<std::string, std::string>> user{{"X-Auth-User", "alice@example.com"}};
    EXPECT_EQ(status(bhttp::verb::get, "/v1/admin/stats", user, "10.1.2.3"), 200);
    EXPECT_EQ(status(bhttp::verb::get, "/v1/admin/stats", user, "192.0.2.7"), 401) << "not a trusted proxy";
    EXPECT_EQ(status(bhttp::verb::post, "/v1/admin/jobs/cleanup/pause", user, "10.1.2.3"), 403)
        << "the header alone changes nothing";

    // Through the proxy, the page gets a session of the configured role.
    const Response session =
        run_pipeline(pipeline_, make_request(bhttp::verb::get, "/dashboard/session", user), "10.1.2.3");
    EXPECT_EQ(nlohmann::json::parse(session.body())["role"], "viewer");
    EXPECT_FALSE(std::string(to_std(session[bhttp::field::set_cookie])).empty());
    const Response untrusted =
        run_pipeline(pipeline_, make_request(bhttp::verb::get, "/dashboard/session", user), "192.0.2.7");
    EXPECT_TRUE(nlohmann::json::parse(untrusted.body())["role"].is_null());

    // Secure when the trusted proxy says the browser used https.
    auto https = user;
    https.emplace_back("X-Forwarded-Proto", "https");
    const Response secure =
        run_pipeline(pipeline_, make_request(bhttp::verb::get, "/dashboard/session", https), "10.1.2.3");
    EXPECT_NE(std::string(to_std(secure[bhttp::field::set_cookie])).find("; Secure"), std::string::npos);
}

}  // namespace
}  // namespace broker
