// The admin endpoints of webhook subscriptions: see webhook_handlers.hpp. Answers are JSON;
// time fields are Unix seconds or null.
#include "http/handlers/webhook_handlers.hpp"

#include <nlohmann/json.hpp>

#include "http/error_response.hpp"
#include "http/handlers/query_params.hpp"
#include "http/offload.hpp"
#include "http/query.hpp"

namespace broker {
namespace {

using nlohmann::json;

std::string dump(const json& body) {
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Response bad_request(const RequestContext& ctx, std::string_view message) {
    return error_response(ErrorCode::invalid_request, message, ctx.request_id);
}

Response not_found(const RequestContext& ctx, std::string_view message) {
    return error_response(ErrorCode::route_not_found, message, ctx.request_id);
}

json optional_time(const std::optional<UnixSeconds>& t) {
    return t ? json(*t) : json(nullptr);
}

// Never the secret: it is shown once, in the creation's answer.
json subscription_json(const WebhookSubscription& s) {
    return {{"id", s.id},
            {"url", s.url},
            {"event_types", s.event_types},
            {"description", s.description},
            {"enabled", s.enabled},
            {"disabled_reason", s.enabled ? json(nullptr) : json(s.disabled_reason)},
            {"disabled_at", optional_time(s.disabled_at)},
            {"created_at", s.created_at},
            {"cursor", s.cursor},
            {"failing_since", optional_time(s.failing_since)},
            {"consecutive_failed", s.consecutive_failed}};
}

json delivery_json(const WebhookDelivery& d) {
    return {
        {"id", d.id},
        {"event_id", d.event_id},
        {"event_type", d.event_type},
        {"sandbox_id", d.sandbox_id.empty() ? json(nullptr) : json(d.sandbox_id)},
        {"status", to_string(d.status)},
        {"attempts", d.attempts},
        {"created_at", d.created_at},
        {"next_attempt_at", d.status == DeliveryStatus::pending ? json(d.next_attempt_at) : json(nullptr)},
        {"last_attempt_at", optional_time(d.last_attempt_at)},
        {"last_http_status", d.last_http_status ? json(*d.last_http_status) : json(nullptr)},
        {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
        {"last_latency_ms", d.last_latency_ms ? json(*d.last_latency_ms) : json(nullptr)}};
}

// The creation's body, or why it is refused.
std::optional<NewWebhook> read_new_webhook(const std::string& text, std::string& problem) {
    const json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
        problem = "the body must be a JSON object";
        return std::nullopt;
    }
    NewWebhook out;
    const auto url = body.find("url");
    if (url == body.end() || !url->is_string()) {
        problem = "url must be a string";
        return std::nullopt;
    }
    out.url = url->get<std::string>();
    const auto types = body.find("event_types");
    if (types == body.end() || types->is_null()) {
        problem = "event_types is required: a list of event types, or \"*\" for every type";
        return std::nullopt;
    }
    if (types->is_string()) {
        out.event_types.push_back(types->get<std::string>());
    } else if (types->is_array()) {
        for (const auto& t : *types) {
            if (!t.is_string()) {
                problem = "event_types must hold strings";
                return std::nullopt;
            }
            out.event_types.push_back(t.get<std::string>());
        }
    } else {
        problem = "event_types must be a list of event types or \"*\"";
        return std::nullopt;
    }
    const auto description = body.find("description");
    if (description != body.end() && !description->is_null()) {
        if (!description->is_string()) {
            problem = "description must be a string";
            return std::nullopt;
        }
        out.description = description->get<std::string>();
    }
    return out;
}

}  // namespace

void WebhookHandlers::add_routes(Router& router, const std::string& base_path) {
    const std::string admin = base_path + "/admin";
    using V = bhttp::verb;
    const auto add = [&](V method, const std::string& path,
                         asio::awaitable<Response> (WebhookHandlers::*fn)(RequestContext&)) {
        add_admin_route(router, method, admin + path, this, fn);
    };
    add(V::post, "/webhooks", &WebhookHandlers::create);
    add(V::get, "/webhooks", &WebhookHandlers::list);
    add(V::get, "/webhooks/{id}", &WebhookHandlers::get);
    add(V::delete_, "/webhooks/{id}", &WebhookHandlers::remove);
    add(V::post, "/webhooks/{id}/enable", &WebhookHandlers::enable);
    add(V::get, "/webhooks/{id}/deliveries", &WebhookHandlers::deliveries);
    add(V::post, "/webhooks/{id}/deliveries/{n}/redeliver", &WebhookHandlers::redeliver);
}

asio::awaitable<Response> WebhookHandlers::create(RequestContext& ctx) {
    std::string problem;
    auto request = read_new_webhook(ctx.request.body(), problem);
    if (!request) co_return bad_request(ctx, problem);
    // The check may resolve the target's name: on the pool, like the store's work.
    auto work = [service = &service_, r = std::move(*request)] { return service->create(r); };
    const Checked<WebhookSubscription> made = co_await offload(pool_, std::move(work));
    if (made.refusal) co_return error_response(made.refusal->code, made.refusal->message, ctx.request_id);
    json body = subscription_json(*made.value);
    body["secret"] = made.value->secret;
    co_return json_response(bhttp::status::created, dump(body));
}

asio::awaitable<Response> WebhookHandlers::list(RequestContext&) {
    auto work = [service = &service_] { return service->list(); };
    const auto all = co_await offload(pool_, std::move(work));
    json items = json::array();
    for (const auto& s : all) items.push_back(subscription_json(s));
    co_return json_response(bhttp::status::ok, dump({{"webhooks", std::move(items)}}));
}

asio::awaitable<Response> WebhookHandlers::get(RequestContext& ctx) {
    auto work = [service = &service_, id = std::string(ctx.params.get("id"))] { return service->get(id); };
    const auto s = co_await offload(pool_, std::move(work));
    if (!s) co_return not_found(ctx, "no such webhook");
    co_return json_response(bhttp::status::ok, dump(subscription_json(*s)));
}

asio::awaitable<Response> WebhookHandlers::remove(RequestContext& ctx) {
    auto work = [service = &service_, id = std::string(ctx.params.get("id"))] { return service->remove(id); };
    if (!co_await offload(pool_, std::move(work))) co_return not_found(ctx, "no such webhook");
    co_return json_response(bhttp::status::ok, dump({{"id", ctx.params.get("id")}, {"deleted", true}}));
}

asio::awaitable<Response> WebhookHandlers::enable(RequestContext& ctx) {
    auto work = [service = &service_, id = std::string(ctx.params.get("id"))] { return service->enable(id); };
    const auto s = co_await offload(pool_, std::move(work));
    if (!s) co_return not_found(ctx, "no such webhook");
    co_return json_response(bhttp::status::ok, dump(subscription_json(*s)));
}

asio::awaitable<Response> WebhookHandlers::deliveries(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto limit = WebhookService::parse_limit(query_value(*params, "limit"));
    if (limit.refusal) co_return error_response(limit.refusal->code, limit.refusal->message, ctx.request_id);
    std::optional<std::int64_t> before;
    if (const auto text = query_value(*params, "before")) {
        const auto id = WebhookService::parse_delivery_id(*text);
        if (id.refusal) co_return bad_request(ctx, "before must be a delivery id (a positive whole number)");
        before = *id.value;
    }
    auto work = [service = &service_, id = std::string(ctx.params.get("id")), before, n = *limit.value] {
        return service->deliveries(id, before, n);
    };
    const auto page = co_await offload(pool_, std::move(work));
    if (!page) co_return not_found(ctx, "no such webhook");
    json items = json::array();
    for (const auto& d : page->items) items.push_back(delivery_json(d));
    co_return json_response(
        bhttp::status::ok,
        dump({{"deliveries", std::move(items)},
              {"next_before", page->next_before ? json(*page->next_before) : json(nullptr)}}));
}

asio::awaitable<Response> WebhookHandlers::redeliver(RequestContext& ctx) {
    const auto n = WebhookService::parse_delivery_id(ctx.params.get("n"));
    if (n.refusal) co_return bad_request(ctx, n.refusal->message);
    auto work = [service = &service_, id = std::string(ctx.params.get("id")), n = *n.value] {
        return service->redeliver(id, n);
    };
    const auto d = co_await offload(pool_, std::move(work));
    if (!d) co_return not_found(ctx, "no such delivery of this webhook");
    co_return json_response(bhttp::status::accepted, dump(delivery_json(*d)));
}

}  // namespace broker
