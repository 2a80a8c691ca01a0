// The CSP account paths: the list every sync pulls and the delete every cleanup sends. Each
// call is counted before faults are drawn, so a test sees every request a client made.
#include <algorithm>
#include <memory>

#include "http/streamed_body.hpp"
#include "provider/sim/sim_http.hpp"
#include "provider/sim/sim_routes.hpp"

namespace broker::sim {
namespace {

constexpr std::size_t kListPieceBytes = 256 * 1024;

bool authorized(const Simulator& sim, const Request& request) {
    return sim.token.empty() || has_credential(request, "Token", sim.token);
}

Response unauthorized() {
    return error_reply(bhttp::status::unauthorized,
                       "Authentication credentials were not provided or are invalid");
}

asio::awaitable<Response> list_accounts(Simulator& sim, RequestContext& ctx) {
    sim.state.count(SimCall::list_accounts);
    std::optional<Response> fault = co_await apply_faults(sim.faults);
    if (fault) co_return std::move(*fault);
    if (!authorized(sim, ctx.request)) co_return unauthorized();
    // The list as it stood, written a piece at a time (each write under the server's own
    // timeout, as a real server's sends are): a client that reads a large list slowly, writing
    // it to its store as it goes, is not cut off for the whole answer's length.
    auto body = std::make_shared<const std::string>(sim.state.list_body());
    auto at = std::make_shared<std::size_t>(0);
    set_body_stream(ctx, [body, at]() -> asio::awaitable<std::optional<std::string>> {
        if (*at >= body->size()) co_return std::nullopt;
        const std::size_t n = std::min(kListPieceBytes, body->size() - *at);
        std::string piece = body->substr(*at, n);
        *at += n;
        co_return piece;
    });
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    co_return res;
}

asio::awaitable<Response> delete_account(Simulator& sim, RequestContext& ctx) {
    sim.state.count(SimCall::delete_account);
    std::optional<Response> fault = co_await apply_faults(sim.faults);
    if (fault) co_return std::move(*fault);
    if (!authorized(sim, ctx.request)) co_return unauthorized();
    if (!sim.state.delete_sandbox(ctx.params.get("uuid"))) {
        co_return error_reply(bhttp::status::not_found, "sandbox account not found");
    }
    co_return no_content();
}

}  // namespace

void add_csp_routes(Router& router, Simulator& sim) {
    router.add(bhttp::verb::get, "/v2/current_user/accounts", Access::open,
               [&sim](RequestContext& ctx) { return list_accounts(sim, ctx); });
    router.add(bhttp::verb::delete_, "/v2/sandbox/accounts/{uuid}", Access::open,
               [&sim](RequestContext& ctx) { return delete_account(sim, ctx); });
}

}  // namespace broker::sim
