// The CSP account paths: the list every sync pulls and the delete every cleanup sends. Each
// call is counted before faults are drawn, so a test sees every request a client made.
#include "provider/sim/sim_http.hpp"
#include "provider/sim/sim_routes.hpp"

namespace broker::sim {
namespace {

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
    co_return json_reply(bhttp::status::ok, sim.state.list_accounts());
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
