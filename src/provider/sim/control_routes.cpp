// The /_sim control paths: what tests and demos read (stats, the full inventory) and how they
// steer the simulator (add accounts, make one vanish, change the faults). Never faulted and
// never authenticated: the simulator listens on loopback and is not a production service.
#include <charconv>
#include <cmath>

#include "provider/sim/sim_http.hpp"
#include "provider/sim/sim_routes.hpp"

namespace broker::sim {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxAddCount = 100'000;

json faults_json(const FaultInjector& faults) {
    const FaultSettings s = faults.settings();
    const FaultCounts c = faults.counts();
    return {{"fail_rate", s.fail_rate},
            {"latency_ms", s.latency.count()},
            {"throttle_share", s.throttle_share},
            {"jitter", s.jitter},
            {"capacity_rps", s.capacity_rps},
            {"overload", s.overload_status},
            {"retry_after_sec", s.retry_after_sec},
            {"faults_500", c.server_errors},
            {"faults_429", c.throttled},
            {"refused", c.refused},
            {"admitted", c.admitted}};
}

Response bad_request(std::string_view message) {
    return error_reply(bhttp::status::bad_request, message);
}

asio::awaitable<Response> stats(Simulator& sim, RequestContext&) {
    json body = sim.state.stats().to_json();
    body.update(faults_json(sim.faults));
    co_return json_reply(bhttp::status::ok, body);
}

asio::awaitable<Response> inventory(Simulator& sim, RequestContext&) {
    co_return json_reply(bhttp::status::ok, sim.state.inventory());
}

// One entry of a list of accounts to add; nothing (and `error` set) when it is unusable.
std::optional<AccountSpec> account_spec(const json& item, std::string& error) {
    if (!item.is_object()) {
        error = "each account must be an object";
        return std::nullopt;
    }
    AccountSpec spec;
    for (auto [key, field] : {std::pair{"name", &spec.name}, std::pair{"account_type", &spec.account_type},
                              std::pair{"state", &spec.state}}) {
        const auto it = item.find(key);
        if (it == item.end()) continue;
        if (!it->is_string()) {
            error = std::string(key) + " must be a string";
            return std::nullopt;
        }
        *field = it->get<std::string>();
    }
    if (const auto it = item.find("sfdc_account_id"); it != item.end() && it->is_string()) {
        spec.sfdc_account_id = it->get<std::string>();
    }
    return spec;
}

asio::awaitable<Response> add_accounts(Simulator& sim, RequestContext& ctx) {
    const json body = json::parse(ctx.request.body(), nullptr, /*allow_exceptions=*/false);
    // Either {"count": n, "name_prefix": "..."}, or a list of accounts (bare or under "accounts").
    const json* list = body.is_array() ? &body : nullptr;
    if (body.is_object() && body.contains("accounts")) list = &body["accounts"];
    std::vector<SimAccount> added;
    if (list) {
        if (!list->is_array()) co_return bad_request("accounts must be a list");
        std::vector<AccountSpec> specs;
        for (const auto& item : *list) {
            std::string error;
            auto spec = account_spec(item, error);
            if (!spec) co_return bad_request(error);
            specs.push_back(std::move(*spec));
        }
        for (const auto& spec : specs) added.push_back(sim.state.add_account(spec));
    } else if (body.is_object()) {
        const auto count = body.find("count");
        if (count == body.end() || !count->is_number_integer() || count->get<std::int64_t>() < 1 ||
            count->get<std::int64_t>() > kMaxAddCount) {
            co_return bad_request("count must be an integer from 1 to " + std::to_string(kMaxAddCount));
        }
        std::string prefix = sim.name_prefix;
        if (const auto it = body.find("name_prefix"); it != body.end()) {
            if (!it->is_string()) co_return bad_request("name_prefix must be a string");
            prefix = it->get<std::string>();
        }
        added = sim.state.add_sandboxes(count->get<std::uint64_t>(), prefix);
    } else {
        co_return bad_request("expected {\"count\": n, \"name_prefix\": \"...\"} or a list of accounts");
    }
    auto results = json::array();
    for (const auto& account : added) results.push_back(account.to_json());
    co_return json_reply(bhttp::status::created,
                         {{"added", results.size()}, {"results", std::move(results)}});
}

asio::awaitable<Response> vanish(Simulator& sim, RequestContext& ctx) {
    const std::string_view text = ctx.params.get("csp_id");
    std::int64_t csp_id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), csp_id);
    if (ec != std::errc() || end != text.data() + text.size())
        co_return bad_request("csp_id must be an integer");
    if (!sim.state.vanish(csp_id)) co_return error_reply(bhttp::status::not_found, "no such account");
    co_return json_reply(bhttp::status::ok, {{"vanished", csp_id}});
}

asio::awaitable<Response> get_faults(Simulator& sim, RequestContext&) {
    co_return json_reply(bhttp::status::ok, faults_json(sim.faults));
}

// Changes only the fields given; the others keep their values.
asio::awaitable<Response> set_faults(Simulator& sim, RequestContext& ctx) {
    const auto body = json_object_body(ctx.request);
    if (!body) co_return bad_request("expected a JSON object");
    FaultSettings settings = sim.faults.settings();
    for (const char* key : {"fail_rate", "throttle_share", "latency_ms", "jitter", "capacity_rps", "overload",
                            "retry_after_sec"}) {
        const auto it = body->find(key);
        if (it == body->end()) continue;
        if (!it->is_number()) co_return bad_request(std::string(key) + " must be a number");
        if (std::string_view(key) == "fail_rate") settings.fail_rate = it->get<double>();
        if (std::string_view(key) == "throttle_share") settings.throttle_share = it->get<double>();
        if (std::string_view(key) == "jitter") settings.jitter = it->get<double>();
        if (std::string_view(key) == "capacity_rps") settings.capacity_rps = it->get<double>();
        const auto whole = [&]() -> std::optional<int> {
            const double v = it->get<double>();
            if (v != std::floor(v) || v < -1e6 || v > 1e6) return std::nullopt;
            return static_cast<int>(v);
        };
        if (std::string_view(key) == "overload" || std::string_view(key) == "retry_after_sec") {
            const auto v = whole();
            if (!v) co_return bad_request(std::string(key) + " must be a whole number");
            (std::string_view(key) == "overload" ? settings.overload_status : settings.retry_after_sec) = *v;
        }
        if (std::string_view(key) == "latency_ms") {
            const double ms = it->get<double>();
            if (ms < 0 || ms > static_cast<double>(FaultSettings::kMaxLatency.count())) {
                co_return bad_request("latency_ms must be between 0 and " +
                                      std::to_string(FaultSettings::kMaxLatency.count()));
            }
            settings.latency = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
        }
    }
    if (auto why = invalid_reason(settings)) co_return bad_request(*why);
    sim.faults.set(settings);
    co_return json_reply(bhttp::status::ok, faults_json(sim.faults));
}

}  // namespace

void add_control_routes(Router& router, Simulator& sim) {
    using V = bhttp::verb;
    const auto route = [&](V method, const char* path,
                           asio::awaitable<Response> (*fn)(Simulator&, RequestContext&)) {
        router.add(method, path, Access::open, [&sim, fn](RequestContext& ctx) { return fn(sim, ctx); });
    };
    route(V::get, "/_sim/stats", stats);
    route(V::get, "/_sim/accounts", inventory);
    route(V::post, "/_sim/accounts", add_accounts);
    route(V::post, "/_sim/accounts/{csp_id}/vanish", vanish);
    route(V::get, "/_sim/faults", get_faults);
    route(V::post, "/_sim/faults", set_faults);
}

}  // namespace broker::sim
