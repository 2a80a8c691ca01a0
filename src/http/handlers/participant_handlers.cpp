#include "http/handlers/participant_handlers.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "core/utf8.hpp"
#include "http/error_response.hpp"
#include "http/offload.hpp"

namespace broker {
namespace {

constexpr std::size_t kMaxHeaderValue = 256;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool has_control_chars(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

// Reads an optional identifying header; an error response when its value is unusable.
std::optional<Response> read_header(const RequestContext& ctx, std::string_view name, std::string& out) {
    const std::string_view value = trim(to_std(ctx.request[to_beast(name)]));
    if (value.size() > kMaxHeaderValue || has_control_chars(value) || !is_valid_utf8(value)) {
        return error_response(
            ErrorCode::invalid_request,
            std::string(name) + " must be at most 256 characters of UTF-8 without control characters",
            ctx.request_id);
    }
    out.assign(value);
    return std::nullopt;
}

// The participant: X-Instruqt-Sandbox-ID, else the legacy X-Track-ID; X-Instruqt-Track-ID
// as the lab's name.
std::optional<Response> read_participant(const RequestContext& ctx, Participant& participant) {
    if (auto error = read_header(ctx, "X-Instruqt-Sandbox-ID", participant.id)) return error;
    if (participant.id.empty()) {
        if (auto error = read_header(ctx, "X-Track-ID", participant.id)) return error;
    }
    if (participant.id.empty()) {
        return error_response(ErrorCode::missing_sandbox_id,
                              "X-Instruqt-Sandbox-ID (or the legacy X-Track-ID) header is required",
                              ctx.request_id);
    }
    return read_header(ctx, "X-Instruqt-Track-ID", participant.track_name);
}

nlohmann::json time_or_null(const std::optional<UnixSeconds>& t) {
    return t ? nlohmann::json(*t) : nlohmann::json(nullptr);
}

std::string dump(const nlohmann::json& body) {
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response sandbox_not_found(const RequestContext& ctx) {
    return error_response(ErrorCode::sandbox_not_found, "no such sandbox", ctx.request_id);
}

Response not_owner(const RequestContext& ctx) {
    return error_response(ErrorCode::not_sandbox_owner, "this sandbox is not allocated to you",
                          ctx.request_id);
}

}  // namespace

void ParticipantHandlers::add_routes(Router& router, const std::string& base_path) {
    router.add(bhttp::verb::post, base_path + "/allocate", Access::participant,
               [this](RequestContext& ctx) { return allocate(ctx); });
    router.add(bhttp::verb::get, base_path + "/sandboxes/{id}", Access::participant,
               [this](RequestContext& ctx) { return get(ctx); });
    router.add(bhttp::verb::post, base_path + "/sandboxes/{id}/mark-for-deletion", Access::participant,
               [this](RequestContext& ctx) { return mark_for_deletion(ctx); });
}

asio::awaitable<Response> ParticipantHandlers::allocate(RequestContext& ctx) {
    ctx.action = "allocate";
    AllocateInput input;
    if (auto error = read_participant(ctx, input.participant)) co_return std::move(*error);
    if (auto error = read_header(ctx, "X-Sandbox-Name-Prefix", input.name_prefix))
        co_return std::move(*error);
    if (auto error = read_header(ctx, "Idempotency-Key", input.idempotency_key)) co_return std::move(*error);

    auto work = [service = &service_, input = std::move(input)] { return service->allocate(input); };
    const auto started = std::chrono::steady_clock::now();
    std::optional<AllocateResult> outcome;
    try {
        outcome = co_await offload(pool_, std::move(work));
    } catch (...) {
        // Counted here, answered by the pipeline's one mapping of exceptions.
        ctx.outcome = metrics_.allocation_failed(std::chrono::steady_clock::now() - started);
        throw;
    }
    const AllocateResult& result = *outcome;
    ctx.outcome =
        metrics_.allocation(result.outcome, std::chrono::steady_clock::now() - started, result.conflicts);
    if (result.sandbox) ctx.sandbox_id = result.sandbox->sandbox_id;

    switch (result.outcome) {
        case AllocateOutcome::pool_empty:
        case AllocateOutcome::reserved_for_others:
            // Held back for another track's reservation: for this track the pool is empty.
            ctx.log_message = "No sandboxes available";
            co_return error_response(ErrorCode::no_sandboxes_available, "no sandboxes available; retry later",
                                     ctx.request_id, no_sandboxes_retry_after_);
        case AllocateOutcome::no_prefix_match:
            // No retry_after: no sandbox of the pool has such a name, so waiting will not help.
            co_return error_response(ErrorCode::no_sandboxes_for_prefix,
                                     "no sandbox in the pool has a name starting with X-Sandbox-Name-Prefix",
                                     ctx.request_id);
        case AllocateOutcome::expired:
            co_return error_response(ErrorCode::allocation_expired,
                                     "your allocation has expired; the sandbox is being reclaimed",
                                     ctx.request_id);
        case AllocateOutcome::limit_reached:
            co_return error_response(ErrorCode::participant_limit,
                                     "you hold as many sandboxes as one participant may; return one first",
                                     ctx.request_id);
        case AllocateOutcome::track_limit_reached:
            co_return error_response(ErrorCode::track_limit_reached,
                                     "this track holds as many sandboxes as its limit allows; retry later",
                                     ctx.request_id, no_sandboxes_retry_after_);
        case AllocateOutcome::allocated:
        case AllocateOutcome::existing:
            break;
    }
    if (!result.sandbox) throw std::logic_error("store returned an allocation without its sandbox");
    const Sandbox& s = *result.sandbox;
    const nlohmann::json body = {
        {"sandbox_id", s.sandbox_id},
        {"name", s.name},
        {"external_id", s.external_id},
        {"allocated_at", time_or_null(s.allocated_at)},
        {"expires_at", time_or_null(s.expires_at)},
        {"sfdc_account_id", s.sfdc_account_id},
    };
    const auto status =
        result.outcome == AllocateOutcome::allocated ? bhttp::status::created : bhttp::status::ok;
    co_return json_response(status, dump(body));
}

asio::awaitable<Response> ParticipantHandlers::get(RequestContext& ctx) {
    ctx.action = "get_sandbox";
    Participant participant;
    if (auto error = read_participant(ctx, participant)) co_return std::move(*error);

    auto work = [service = &service_, id = std::string(ctx.params.get("id")),
                 who = std::move(participant.id)] { return service->get(id, who); };
    const LookupResult result = co_await offload(pool_, std::move(work));

    switch (result.outcome) {
        case LookupOutcome::not_found:
            co_return sandbox_not_found(ctx);
        case LookupOutcome::not_owner:
            co_return not_owner(ctx);
        case LookupOutcome::found:
            break;
    }
    if (!result.sandbox) throw std::logic_error("lookup found no sandbox");
    const Sandbox& s = *result.sandbox;
    const nlohmann::json body = {
        {"sandbox_id", s.sandbox_id},
        {"name", s.name},
        {"external_id", s.external_id},
        {"status", to_string(s.status)},
        {"allocated_to_track", s.allocated_to_track},
        {"allocated_at", time_or_null(s.allocated_at)},
        {"expires_at", time_or_null(s.expires_at)},
        {"track_name", s.track_name},
        {"sfdc_account_id", s.sfdc_account_id},
    };
    co_return json_response(bhttp::status::ok, dump(body));
}

asio::awaitable<Response> ParticipantHandlers::mark_for_deletion(RequestContext& ctx) {
    ctx.action = "mark_for_deletion";
    Participant participant;
    if (auto error = read_participant(ctx, participant)) co_return std::move(*error);

    auto work = [service = &service_, id = std::string(ctx.params.get("id")),
                 who = std::move(participant.id)] { return service->mark_for_deletion(id, who); };
    std::optional<MarkResult> outcome;
    try {
        outcome = co_await offload(pool_, std::move(work));
    } catch (...) {
        ctx.outcome = metrics_.mark_failed();
        throw;
    }
    const MarkResult& result = *outcome;
    ctx.outcome = metrics_.mark(result.outcome);

    switch (result.outcome) {
        case MarkOutcome::not_found:
            co_return sandbox_not_found(ctx);
        case MarkOutcome::not_owner:
            co_return not_owner(ctx);
        case MarkOutcome::expired:
            co_return error_response(ErrorCode::allocation_expired,
                                     "your allocation has expired; the sandbox is being reclaimed",
                                     ctx.request_id);
        case MarkOutcome::marked:
        case MarkOutcome::already_marked:
            break;
    }
    if (!result.sandbox) throw std::logic_error("store marked a sandbox without returning it");
    const Sandbox& s = *result.sandbox;
    const nlohmann::json body = {
        {"sandbox_id", s.sandbox_id},
        {"status", "pending_deletion"},
        {"deletion_requested_at", time_or_null(s.deletion_requested_at)},
    };
    co_return json_response(bhttp::status::ok, dump(body));
}

}  // namespace broker
