// The NIOSXaaS paths the clean-up step walks: sign in, switch into the sandbox's account,
// list its universal services, delete the lab's. Tokens are opaque and only mean something
// to this simulator: a user token from sign-in, an account token from the switch.
#include "provider/sim/sim_http.hpp"
#include "provider/sim/sim_routes.hpp"

namespace broker::sim {
namespace {

std::string string_field(const nlohmann::json& body, const char* key) {
    const auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Response bad_token() {
    return error_reply(bhttp::status::unauthorized, "invalid or expired token");
}

asio::awaitable<Response> sign_in(Simulator& sim, RequestContext& ctx) {
    sim.state.count(SimCall::sign_in);
    std::optional<Response> fault = co_await apply_faults(sim.faults);
    if (fault) co_return std::move(*fault);
    const auto body = json_object_body(ctx.request);
    if (!body || string_field(*body, "email").empty() || string_field(*body, "password").empty()) {
        co_return error_reply(bhttp::status::bad_request, "email and password are required");
    }
    co_return json_reply(bhttp::status::ok, {{"jwt", sim.state.sign_in()}});
}

asio::awaitable<Response> account_switch(Simulator& sim, RequestContext& ctx) {
    sim.state.count(SimCall::account_switch);
    std::optional<Response> fault = co_await apply_faults(sim.faults);
    if (fault) co_return std::move(*fault);
    const auto body = json_object_body(ctx.request);
    const std::string id = body ? string_field(*body, "id") : std::string();
    if (id.empty()) co_return error_reply(bhttp::status::bad_request, "id is required");
    const std::string_view user = credential(ctx.request, "Bearer");
    if (user.empty()) co_return bad_token();
    auto token = sim.state.switch_account(user, id);
    if (!token) co_return error_reply(bhttp::status::forbidden, "no such account for this user");
    co_return json_reply(bhttp::status::ok, {{"jwt", *token}});
}

asio::awaitable<Response> list_services(Simulator& sim, RequestContext& ctx) {
    sim.state.count(SimCall::list_services);
    std::optional<Response> fault = co_await apply_faults(sim.faults);
    if (fault) co_return std::move(*fault);
    const auto services = sim.state.services(credential(ctx.request, "Bearer"));
    if (!services) co_return bad_token();
    auto results = nlohmann::json::array();
    for (const auto& s : *services) results.push_back({{"id", s.id}, {"name", s.name}});
    co_return json_reply(bhttp::status::ok, {{"results", std::move(results)}});
}

asio::awaitable<Response> delete_service(Simulator& sim, RequestContext& ctx) {
    sim.state.count(SimCall::delete_service);
    std::optional<Response> fault = co_await apply_faults(sim.faults);
    if (fault) co_return std::move(*fault);
    const std::string_view token = credential(ctx.request, "Bearer");
    if (!sim.state.services(token)) co_return bad_token();
    if (!sim.state.delete_service(token, ctx.params.get("uuid"))) {
        co_return error_reply(bhttp::status::not_found, "universal service not found");
    }
    co_return no_content();
}

}  // namespace

void add_niosxaas_routes(Router& router, Simulator& sim) {
    router.add(bhttp::verb::post, "/v2/session/users/sign_in", Access::open,
               [&sim](RequestContext& ctx) { return sign_in(sim, ctx); });
    router.add(bhttp::verb::post, "/v2/session/account_switch", Access::open,
               [&sim](RequestContext& ctx) { return account_switch(sim, ctx); });
    router.add(bhttp::verb::get, "/api/universalinfra/v1/universalservices", Access::open,
               [&sim](RequestContext& ctx) { return list_services(sim, ctx); });
    router.add(bhttp::verb::delete_, "/api/universalinfra/v1/universalservices/{uuid}", Access::open,
               [&sim](RequestContext& ctx) { return delete_service(sim, ctx); });
}

}  // namespace broker::sim
