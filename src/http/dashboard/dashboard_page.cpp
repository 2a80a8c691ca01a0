#include "http/dashboard/dashboard_page.hpp"

#include <nlohmann/json.hpp>

#include "http/dashboard/embedded.hpp"
#include "http/error_response.hpp"

namespace broker {
namespace {

struct Asset {
    std::string_view path;
    std::string_view content_type;
    std::string_view (*content)();
};

constexpr Asset kAssets[] = {
    {"/dashboard", "text/html; charset=utf-8", embedded_dashboard_html},
    {"/dashboard/dashboard.css", "text/css; charset=utf-8", embedded_dashboard_css},
    {"/dashboard/dashboard.js", "text/javascript; charset=utf-8", embedded_dashboard_js},
    {"/dashboard/chart.min.js", "text/javascript; charset=utf-8", embedded_chart_js},
};

std::string_view role_name(Role role) {
    return role == Role::admin ? "admin" : "viewer";
}

bool is_json(std::string_view content_type) {
    const auto semicolon = content_type.find(';');
    std::string_view media = content_type.substr(0, semicolon);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    return media == "application/json";
}

}  // namespace

DashboardPage::DashboardPage(const Authenticator& auth, std::string api_base, std::string cookie_secure)
    : auth_(auth), api_base_(std::move(api_base)), cookie_secure_(std::move(cookie_secure)) {}

std::vector<std::string> DashboardPage::page_paths() const {
    std::vector<std::string> paths;
    for (const auto& asset : kAssets) paths.emplace_back(asset.path);
    return paths;
}

void DashboardPage::add_routes(Router& router) {
    for (const auto& asset : kAssets) {
        router.add(bhttp::verb::get, std::string(asset.path), Access::open,
                   [&asset](RequestContext& ctx) -> asio::awaitable<Response> {
                       ctx.action = "dashboard";
                       Response res{bhttp::status::ok, 11};
                       res.set(bhttp::field::content_type, to_beast(asset.content_type));
                       res.set(bhttp::field::cache_control, "no-cache");
                       res.body() = std::string(asset.content());
                       co_return res;
                   });
    }
    const std::string session(kSessionPath);
    router.add(bhttp::verb::get, session, Access::open,
               [this](RequestContext& ctx) { return get_session(ctx); });
    router.add(bhttp::verb::post, session, Access::open,
               [this](RequestContext& ctx) { return sign_in(ctx); });
    router.add(bhttp::verb::delete_, session, Access::open,
               [this](RequestContext& ctx) { return sign_out(ctx); });
}

bool DashboardPage::secure_cookie(const RequestContext& ctx) const {
    if (cookie_secure_ == "true") return true;
    if (cookie_secure_ == "false") return false;
    return auth_.behind_tls(ctx);
}

Response DashboardPage::session_response(const RequestContext& ctx, const DashboardSession& session,
                                         bool set_cookie) const {
    const SessionCookies& sessions = *auth_.sessions();
    nlohmann::json body = {{"role", std::string(role_name(session.role))},
                           {"csrf_token", sessions.csrf_token(session)},
                           {"expires_at", session.expires_at},
                           {"api_base", api_base_}};
    Response res = json_response(bhttp::status::ok, body.dump());
    res.set(bhttp::field::cache_control, "no-store");
    if (set_cookie) {
        const auto max_age = std::chrono::seconds(session.expires_at - sessions.clock().now());
        res.set(bhttp::field::set_cookie,
                session_set_cookie(sessions.encode(session), max_age, secure_cookie(ctx)));
    }
    return res;
}

asio::awaitable<Response> DashboardPage::get_session(RequestContext& ctx) const {
    ctx.action = "dashboard_session";
    if (!auth_.sessions()) {
        co_return error_response(ErrorCode::service_unavailable, "dashboard sessions are off",
                                 ctx.request_id);
    }
    if (const auto session = auth_.session_of(ctx.request)) co_return session_response(ctx, *session, false);
    // A user the trusted proxy signed in gets a session of the configured role, so the page
    // has a CSRF token for its buttons.
    if (const Role role = auth_.trusted_user_role_of(ctx); role != Role::none) {
        ctx.role = role;
        co_return session_response(ctx, auth_.sessions()->issue(role), true);
    }
    // Not signed in is an answer, not an error: the page asks this on every load.
    Response res = json_response(bhttp::status::ok, nlohmann::json{{"role", nullptr}}.dump());
    res.set(bhttp::field::cache_control, "no-store");
    co_return res;
}

asio::awaitable<Response> DashboardPage::sign_in(RequestContext& ctx) const {
    ctx.action = "dashboard_sign_in";
    // JSON only: a cross-site HTML form cannot send it, so nobody signs a browser in unasked.
    if (!is_json(to_std(ctx.request[bhttp::field::content_type]))) {
        co_return error_response(ErrorCode::invalid_request, "send {\"token\": \"…\"} as application/json",
                                 ctx.request_id);
    }
    const auto body = nlohmann::json::parse(ctx.request.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("token") || !body["token"].is_string()) {
        co_return error_response(ErrorCode::invalid_request, "send {\"token\": \"…\"} as application/json",
                                 ctx.request_id);
    }
    if (!auth_.sessions()) {
        co_return error_response(ErrorCode::unauthorized, "dashboard sessions are off", ctx.request_id);
    }
    const Role role = auth_.token_role(body["token"].get<std::string>());
    if (role != Role::admin && role != Role::viewer) {
        ctx.outcome = "refused";
        co_return error_response(ErrorCode::unauthorized,
                                 "wrong token: sign in with the admin or the viewer token", ctx.request_id);
    }
    ctx.role = role;
    ctx.outcome = "signed_in";
    co_return session_response(ctx, auth_.sessions()->issue(role), true);
}

asio::awaitable<Response> DashboardPage::sign_out(RequestContext& ctx) const {
    ctx.action = "dashboard_sign_out";
    // Session cookies are stateless: signing out removes the browser's copy.
    Response res{bhttp::status::no_content, 11};
    res.set(bhttp::field::set_cookie, session_set_cookie("", std::chrono::seconds(0), secure_cookie(ctx)));
    res.set(bhttp::field::cache_control, "no-store");
    co_return res;
}

}  // namespace broker
