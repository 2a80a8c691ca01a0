// Reservations and track limits over HTTP: see quota_handlers.hpp.
#include "http/handlers/quota_handlers.hpp"

#include <nlohmann/json.hpp>

#include "http/error_response.hpp"
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

json reservation_json(const ReservationView& v) {
    const Reservation& r = v.reservation;
    return {{"id", r.id},
            {"track", r.track},
            {"count", r.count},
            {"name_prefix", r.name_prefix},
            {"starts_at", r.starts_at},
            {"ends_at", r.ends_at},
            {"created_at", r.created_at},
            {"active", v.active},
            {"used", r.used},
            {"outstanding", v.outstanding},
            {"shortfall", v.shortfall}};
}

json limit_json(const TrackLimit& l) {
    return {{"track", l.track}, {"max_active", l.max_active}, {"active", l.active}};
}

// The body as a JSON object, or the 400 answer.
std::optional<json> read_object(const RequestContext& ctx, std::optional<Response>& error) {
    json body = json::parse(ctx.request.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
        error = bad_request(ctx, "the body must be a JSON object");
        return std::nullopt;
    }
    return body;
}

// A whole number field (absent or null: nothing); false when it is something else.
bool read_integer(const json& body, const char* name, std::optional<std::int64_t>& out) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) return true;
    if (!it->is_number_integer()) return false;
    out = it->get<std::int64_t>();
    return true;
}

bool read_string(const json& body, const char* name, std::optional<std::string>& out) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
}

// A path segment percent-decoded ("a%20b" -> "a b"; '+' stays '+'); nothing when malformed.
std::optional<std::string> path_segment(std::string_view raw) {
    std::string query = "v=";
    for (const char c : raw) query += c == '+' ? std::string("%2B") : std::string(1, c);
    const auto params = parse_query(query);
    if (!params) return std::nullopt;
    return query_value(*params, "v");
}

}  // namespace

void QuotaHandlers::add_routes(Router& router, const std::string& base_path) {
    const std::string admin = base_path + "/admin";
    using V = bhttp::verb;
    const auto add = [&](V method, const std::string& path,
                         asio::awaitable<Response> (QuotaHandlers::*fn)(RequestContext&)) {
        add_admin_route(router, method, admin + path, this, fn);
    };
    add(V::post, "/reservations", &QuotaHandlers::create_reservation);
    add(V::get, "/reservations", &QuotaHandlers::list_reservations);
    add(V::get, "/reservations/{id}", &QuotaHandlers::get_reservation);
    add(V::delete_, "/reservations/{id}", &QuotaHandlers::cancel_reservation);
    add(V::get, "/tracks/limits", &QuotaHandlers::list_limits);
    add(V::put, "/tracks/{track}/limit", &QuotaHandlers::put_limit);
    add(V::delete_, "/tracks/{track}/limit", &QuotaHandlers::delete_limit);
}

asio::awaitable<Response> QuotaHandlers::create_reservation(RequestContext& ctx) {
    std::optional<Response> error;
    const auto body = read_object(ctx, error);
    if (!body) co_return std::move(*error);
    ReservationInput input;
    if (!read_string(*body, "track", input.track)) co_return bad_request(ctx, "track must be a string");
    if (!read_integer(*body, "count", input.count))
        co_return bad_request(ctx, "count must be a whole number");
    if (!read_string(*body, "name_prefix", input.name_prefix))
        co_return bad_request(ctx, "name_prefix must be a string");
    if (!read_integer(*body, "starts_at", input.starts_at))
        co_return bad_request(ctx, "starts_at must be a whole number of Unix seconds");
    if (!read_integer(*body, "ends_at", input.ends_at))
        co_return bad_request(ctx, "ends_at must be a whole number of Unix seconds");
    auto checked = service_.check_reservation(input);
    if (checked.refusal)
        co_return error_response(checked.refusal->code, checked.refusal->message, ctx.request_id);

    auto work = [service = &service_, r = std::move(*checked.value)] { return service->create(r); };
    const CreatedReservation created = co_await offload(pool_, std::move(work));
    changed();
    json answer = reservation_json(created.view);
    answer["warning"] = created.warning ? json(*created.warning) : json(nullptr);
    co_return json_response(bhttp::status::created, dump(answer));
}

asio::awaitable<Response> QuotaHandlers::list_reservations(RequestContext&) {
    auto work = [service = &service_] { return service->list(); };
    const std::vector<ReservationView> views = co_await offload(pool_, std::move(work));
    json items = json::array();
    for (const auto& v : views) items.push_back(reservation_json(v));
    const std::size_t count = views.size();
    co_return json_response(
        bhttp::status::ok,
        dump({{"reservations", std::move(items)}, {"count", count}, {"now", service_.now()}}));
}

asio::awaitable<Response> QuotaHandlers::get_reservation(RequestContext& ctx) {
    auto work = [service = &service_, id = std::string(ctx.params.get("id"))] { return service->get(id); };
    const auto view = co_await offload(pool_, std::move(work));
    if (!view)
        co_return error_response(ErrorCode::reservation_not_found, "no such reservation", ctx.request_id);
    co_return json_response(bhttp::status::ok, dump(reservation_json(*view)));
}

asio::awaitable<Response> QuotaHandlers::cancel_reservation(RequestContext& ctx) {
    auto work = [service = &service_, id = std::string(ctx.params.get("id"))] { return service->cancel(id); };
    const auto view = co_await offload(pool_, std::move(work));
    if (!view)
        co_return error_response(ErrorCode::reservation_not_found, "no such reservation", ctx.request_id);
    changed();
    json answer = reservation_json(*view);
    answer["cancelled"] = true;
    co_return json_response(bhttp::status::ok, dump(answer));
}

asio::awaitable<Response> QuotaHandlers::put_limit(RequestContext& ctx) {
    const auto segment = path_segment(ctx.params.get("track"));
    if (!segment) co_return bad_request(ctx, "the track in the path is malformed");
    auto track = QuotaService::check_track(*segment);
    if (track.refusal) co_return error_response(track.refusal->code, track.refusal->message, ctx.request_id);
    std::optional<Response> error;
    const auto body = read_object(ctx, error);
    if (!body) co_return std::move(*error);
    std::optional<std::int64_t> max_active;
    if (!read_integer(*body, "max_active", max_active))
        co_return bad_request(ctx, "max_active must be a whole number");
    const auto checked = QuotaService::check_max_active(max_active);
    if (checked.refusal)
        co_return error_response(checked.refusal->code, checked.refusal->message, ctx.request_id);

    auto work = [service = &service_, t = std::move(*track.value), m = *checked.value] {
        return service->set_limit(t, m);
    };
    const TrackLimit limit = co_await offload(pool_, std::move(work));
    changed();
    co_return json_response(bhttp::status::ok, dump(limit_json(limit)));
}

asio::awaitable<Response> QuotaHandlers::delete_limit(RequestContext& ctx) {
    const auto segment = path_segment(ctx.params.get("track"));
    if (!segment) co_return bad_request(ctx, "the track in the path is malformed");
    auto track = QuotaService::check_track(*segment);
    if (track.refusal) co_return error_response(track.refusal->code, track.refusal->message, ctx.request_id);
    auto work = [service = &service_, t = *track.value] { return service->remove_limit(t); };
    const bool removed = co_await offload(pool_, std::move(work));
    if (!removed)
        co_return error_response(ErrorCode::track_limit_not_found, "the track has no limit", ctx.request_id);
    changed();
    co_return json_response(bhttp::status::ok, dump({{"track", *track.value}, {"removed", true}}));
}

asio::awaitable<Response> QuotaHandlers::list_limits(RequestContext&) {
    auto work = [service = &service_] { return service->limits(); };
    const std::vector<TrackLimit> limits = co_await offload(pool_, std::move(work));
    json items = json::array();
    for (const auto& l : limits) items.push_back(limit_json(l));
    const std::size_t count = limits.size();
    co_return json_response(bhttp::status::ok, dump({{"limits", std::move(items)}, {"count", count}}));
}

}  // namespace broker
