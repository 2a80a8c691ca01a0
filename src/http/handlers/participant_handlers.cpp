#include "http/handlers/participant_handlers.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/utf8.hpp"
#include "http/allocate_wait.hpp"
#include "http/error_response.hpp"
#include "http/handlers/extend_request.hpp"
#include "http/json_object.hpp"
#include "http/offload.hpp"
#include "http/query.hpp"
#include "http/store_callback.hpp"
#include "runtime/http_text.hpp"

namespace broker {
namespace {

constexpr std::size_t kMaxHeaderValue = 256;

bool has_control_chars(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

// Reads an optional identifying header; an error response when its value is unusable.
std::optional<Response> read_header(const RequestContext& ctx, std::string_view name, std::string& out) {
    const std::string_view value = trim_ows(to_std(ctx.request[to_beast(name)]));
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

std::string dump(const nlohmann::json& body) {
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Nothing matched now; a sandbox may still appear (a sync, an import, a revived one).
bool nothing_matches(AllocateOutcome outcome) {
    // A pool held back for another track's reservation is empty for this request.
    return outcome == AllocateOutcome::pool_empty || outcome == AllocateOutcome::no_prefix_match ||
           outcome == AllocateOutcome::reserved_for_others;
}

// The wait the request asked for, capped; nothing when it did not ask (or waiting is off).
// An error response for a malformed value.
std::optional<Response> read_wait_asked(const RequestContext& ctx, std::chrono::seconds max_wait,
                                        std::optional<std::chrono::seconds>& applied) {
    std::optional<std::string> query_wait;
    if (!ctx.query.empty()) {
        const auto params = parse_query(ctx.query);
        if (!params)
            return error_response(ErrorCode::invalid_request, "malformed query string", ctx.request_id);
        query_wait = query_value(*params, "wait");
    }
    const WaitAsked asked = read_wait(to_std(ctx.request[bhttp::field::prefer]), query_wait);
    if (asked.error) return error_response(ErrorCode::invalid_request, *asked.error, ctx.request_id);
    if (asked.wait && asked.wait->count() > 0 && max_wait.count() > 0)
        applied = std::min(*asked.wait, max_wait);
    return std::nullopt;
}

Response sandbox_not_found(const RequestContext& ctx) {
    return error_response(ErrorCode::sandbox_not_found, "no such sandbox", ctx.request_id);
}

Response not_owner(const RequestContext& ctx) {
    return error_response(ErrorCode::not_sandbox_owner, "this sandbox is not allocated to you",
                          ctx.request_id);
}

// The sandbox as its holder sees it (GET /v1/sandboxes/{id}).
// Members by name, as the nlohmann tree this replaced wrote them.
std::string holder_view(const Sandbox& s) {
    return JsonObject()
        .add("allocated_at", s.allocated_at)
        .add("allocated_to_track", s.allocated_to_track)
        .add("expires_at", s.expires_at)
        .add("external_id", s.external_id)
        .add("name", s.name)
        .add("sandbox_id", s.sandbox_id)
        .add("sfdc_account_id", s.sfdc_account_id)
        .add("status", to_string(s.status))
        .add("track_name", s.track_name)
        .finish();
}

}  // namespace

void ParticipantHandlers::add_routes(Router& router, const std::string& base_path) {
    router.add(bhttp::verb::post, base_path + "/allocate", Access::participant,
               [this](RequestContext& ctx) { return allocate(ctx); });
    router.add(bhttp::verb::get, base_path + "/sandboxes/{id}", Access::participant,
               [this](RequestContext& ctx) { return get(ctx); });
    router.add(bhttp::verb::post, base_path + "/sandboxes/{id}/mark-for-deletion", Access::participant,
               [this](RequestContext& ctx) { return mark_for_deletion(ctx); });
    router.add(bhttp::verb::post, base_path + "/sandboxes/{id}/extend", Access::participant,
               [this](RequestContext& ctx) { return extend(ctx); });
}

asio::awaitable<Response> ParticipantHandlers::allocate(RequestContext& ctx) {
    ctx.action = "allocate";
    AllocateInput input;
    if (auto error = read_participant(ctx, input.participant)) co_return std::move(*error);
    if (auto error = read_header(ctx, "X-Sandbox-Name-Prefix", input.name_prefix))
        co_return std::move(*error);
    if (auto error = read_header(ctx, "Idempotency-Key", input.idempotency_key)) co_return std::move(*error);
    std::optional<std::chrono::seconds> wait;
    if (waiters_) {
        if (auto error = read_wait_asked(ctx, max_wait_, wait)) co_return std::move(*error);
    }

    auto started = std::chrono::steady_clock::now();
    std::optional<AllocateResult> outcome;
    try {
        outcome = co_await allocate_in_store(input);
    } catch (...) {
        // Counted here, answered by the pipeline's one mapping of exceptions.
        ctx.outcome = metrics_.allocation_failed(std::chrono::steady_clock::now() - started);
        throw;
    }
    bool closing = false;
    if (wait && nothing_matches(outcome->outcome)) {
        Waited waited = co_await wait_for_sandbox(ctx, input, *wait, *outcome);
        if (waited.gone) {
            ctx.log_message = "Client went away while waiting";
            co_return error_response(ErrorCode::no_sandboxes_available, "the client went away while waiting",
                                     ctx.request_id);
        }
        closing = waited.closing;
        if (waited.result) outcome = std::move(waited.result);
        started = std::chrono::steady_clock::now();  // latency is the store's, not the wait
    }
    const AllocateResult& result = *outcome;
    ctx.outcome =
        metrics_.allocation(result.outcome, std::chrono::steady_clock::now() - started, result.conflicts);
    if (result.sandbox) ctx.sandbox_id = result.sandbox->sandbox_id;

    Response answer = [&] {
        if (closing && nothing_matches(result.outcome)) {
            ctx.log_message = "Stopping while waiting";
            return error_response(ErrorCode::service_unavailable, "the broker is stopping; retry",
                                  ctx.request_id, std::chrono::seconds(1));
        }
        return allocation_answer(ctx, result);
    }();
    if (wait) answer.set(bhttp::field::preference_applied, "wait=" + std::to_string(wait->count()));
    co_return answer;
}

asio::awaitable<ParticipantHandlers::Waited> ParticipantHandlers::wait_for_sandbox(RequestContext& ctx,
                                                                                   const AllocateInput& input,
                                                                                   std::chrono::seconds wait,
                                                                                   AllocateResult last) {
    Waited waited;
    waited.result = std::move(last);
    // The deadline is on the injected clock's monotonic time: the machine's, or under the end-to-end
    // tests' clock the machine's plus the test's moves (each move wakes every waiter through
    // WaiterRegistry::nudge_all to look again), so a test ends a wait without waiting it out.
    const auto deadline = clock_->steady_now() + wait;
    auto executor = co_await asio::this_coro::executor;
    // The timer is the coroutine's bed: a wake-up (from any thread) or the client leaving
    // cancels it on the connection's executor. No pool thread is held meanwhile.
    auto timer = std::make_shared<asio::steady_timer>(executor);
    auto wake = [timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); };
    const std::string& key = input.idempotency_key.empty() ? input.participant.id : input.idempotency_key;
    // One queue per prefix and track: a reservation makes one track's sandboxes another's
    // "nothing", so a head of another track must not hold this track's waiters back.
    std::string queue = input.name_prefix;
    queue.push_back('\0');  // NUL cannot occur in header values: the parts never run together
    queue.append(input.participant.track_name);
    const auto ticket = waiters_->enter(queue, input.participant.id, key, wake);
    if (!ticket) co_return waited;  // full (ALLOCATE_MAX_WAITERS) or stopping: the plain answer now

    bool gone = false;
    bool served = false;
    if (ctx.peer)
        ctx.peer->start([&gone, timer] {
            gone = true;
            timer->cancel();
        });
    // The first look comes at once: a sandbox that appeared between the first answer and
    // enter() woke nobody.
    bool first_look = true;
    for (;;) {
        const bool first = std::exchange(first_look, false);
        if (!waiters_->take_wake(ticket) && !first) {
            const auto now = clock_->steady_now();
            if (now >= deadline || gone || waiters_->closed()) break;
            timer->expires_after(deadline - now);
            boost::system::error_code ec;
            co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;  // woken, gone, closed or timed out: the checks above tell
        }
        if (gone || waiters_->closed()) break;
        if (!waiters_->at_head(ticket)) continue;  // only the oldest waiter of a queue tries
        std::optional<AllocateResult> again;
        try {
            again = co_await allocate_in_store(input);
        } catch (...) {
            // The store is down or overloaded: keep the place and try again when woken.
        }
        if (!again) continue;
        waited.result = std::move(again);
        if (!nothing_matches(waited.result->outcome)) {
            served = true;
            break;
        }
    }
    if (ctx.peer) co_await ctx.peer->stop();
    waiters_->leave(ticket, served);
    waited.gone = gone && !served;
    waited.closing = waiters_->closed();
    co_return waited;
}

asio::awaitable<AllocateResult> ParticipantHandlers::allocate_in_store(const AllocateInput& input) {
    // Named lambdas, moved in: GCC 12 destroys a temporary one in a co_await twice.
    if (AsyncWriteStore* store = service_.async_writes()) {
        auto start = [store, request = service_.allocate_request(input)](AsyncWriteStore::AllocateDone done) {
            store->allocate_async(request, std::move(done));
        };
        co_return co_await store_callback<AllocateResult>(std::move(start));
    }
    auto work = [service = &service_, input] { return service->allocate(input); };
    co_return co_await offload(pool_, std::move(work));
}

asio::awaitable<MarkResult> ParticipantHandlers::mark_in_store(std::string sandbox_id,
                                                               std::string participant_id) {
    if (AsyncWriteStore* store = service_.async_writes()) {
        auto start = [store, request = service_.mark_request(sandbox_id, participant_id)](
                         AsyncWriteStore::MarkDone done) {
            store->mark_for_deletion_async(request, std::move(done));
        };
        co_return co_await store_callback<MarkResult>(std::move(start));
    }
    auto work = [service = &service_, id = std::move(sandbox_id), who = std::move(participant_id)] {
        return service->mark_for_deletion(id, who);
    };
    co_return co_await offload(pool_, std::move(work));
}

Response ParticipantHandlers::allocation_answer(RequestContext& ctx, const AllocateResult& result) const {
    switch (result.outcome) {
        case AllocateOutcome::pool_empty:
        case AllocateOutcome::reserved_for_others:
            // Held back for another track's reservation: for this track the pool is empty.
            ctx.log_message = "No sandboxes available";
            return error_response(ErrorCode::no_sandboxes_available, "no sandboxes available; retry later",
                                  ctx.request_id, no_sandboxes_retry_after_);
        case AllocateOutcome::no_prefix_match:
            // No retry_after: no sandbox of the pool has such a name, so waiting will not help.
            return error_response(ErrorCode::no_sandboxes_for_prefix,
                                  "no sandbox in the pool has a name starting with X-Sandbox-Name-Prefix",
                                  ctx.request_id);
        case AllocateOutcome::expired:
            return error_response(ErrorCode::allocation_expired,
                                  "your allocation has expired; the sandbox is being reclaimed",
                                  ctx.request_id);
        case AllocateOutcome::limit_reached:
            return error_response(ErrorCode::participant_limit,
                                  "you hold as many sandboxes as one participant may; return one first",
                                  ctx.request_id);
        case AllocateOutcome::track_limit_reached:
            return error_response(ErrorCode::track_limit_reached,
                                  "this track holds as many sandboxes as its limit allows; retry later",
                                  ctx.request_id, no_sandboxes_retry_after_);
        case AllocateOutcome::allocated:
        case AllocateOutcome::existing:
            break;
    }
    if (!result.sandbox) throw std::logic_error("store returned an allocation without its sandbox");
    const Sandbox& s = *result.sandbox;
    std::string body = JsonObject()
                           .add("allocated_at", s.allocated_at)
                           .add("expires_at", s.expires_at)
                           .add("external_id", s.external_id)
                           .add("name", s.name)
                           .add("sandbox_id", s.sandbox_id)
                           .add("sfdc_account_id", s.sfdc_account_id)
                           .finish();
    const auto status =
        result.outcome == AllocateOutcome::allocated ? bhttp::status::created : bhttp::status::ok;
    return json_response(status, std::move(body));
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
    co_return json_response(bhttp::status::ok, holder_view(*result.sandbox));
}

asio::awaitable<Response> ParticipantHandlers::mark_for_deletion(RequestContext& ctx) {
    ctx.action = "mark_for_deletion";
    Participant participant;
    if (auto error = read_participant(ctx, participant)) co_return std::move(*error);

    std::optional<MarkResult> outcome;
    try {
        outcome = co_await mark_in_store(std::string(ctx.params.get("id")), std::move(participant.id));
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
    co_return json_response(bhttp::status::ok, JsonObject()
                                                   .add("deletion_requested_at", s.deletion_requested_at)
                                                   .add("sandbox_id", s.sandbox_id)
                                                   .add("status", "pending_deletion")
                                                   .finish());
}

asio::awaitable<Response> ParticipantHandlers::extend(RequestContext& ctx) {
    ctx.action = "extend";
    Participant participant;
    if (auto error = read_participant(ctx, participant)) {
        ctx.outcome = metrics_.extension_invalid();
        co_return std::move(*error);
    }
    const auto parsed = parse_extend_body(ctx.request.body());
    if (const auto* message = std::get_if<std::string>(&parsed)) {
        ctx.outcome = metrics_.extension_invalid();
        co_return error_response(ErrorCode::invalid_request, *message, ctx.request_id);
    }
    auto work = [service = &service_, id = std::string(ctx.params.get("id")), who = std::move(participant.id),
                 seconds = std::get<std::int64_t>(parsed)] {
        return service->extend_lease(id, who, seconds);
    };
    std::optional<ExtendResult> outcome;
    try {
        outcome = co_await offload(pool_, std::move(work));
    } catch (...) {
        ctx.outcome = metrics_.extension_failed();
        throw;
    }
    const ExtendResult& result = *outcome;
    ctx.outcome = metrics_.extension(result.outcome);

    switch (result.outcome) {
        case ExtendOutcome::not_found:
            co_return sandbox_not_found(ctx);
        case ExtendOutcome::not_owner:
            co_return not_owner(ctx);
        case ExtendOutcome::not_allocated:
            co_return error_response(ErrorCode::not_allocated,
                                     "this sandbox is not held: it was returned, its lease ran out, or it "
                                     "was never allocated to you",
                                     ctx.request_id);
        case ExtendOutcome::limit_reached:
            co_return error_response(ErrorCode::extension_limit,
                                     "the lease already ends at its latest time, " +
                                         std::to_string(result.max_expires_at) +
                                         " (allocated_at + LAB_MAX_DURATION_SEC)",
                                     ctx.request_id);
        case ExtendOutcome::extended:
        case ExtendOutcome::capped:
            break;
    }
    if (!result.sandbox) throw std::logic_error("store extended a lease without returning the sandbox");
    ctx.sandbox_id = result.sandbox->sandbox_id;
    // GET's fields (their one list, read back: extending is rare) and, beyond them, whether
    // the extension was cut at the cap, and the cap itself.
    nlohmann::json body = nlohmann::json::parse(holder_view(*result.sandbox));
    body["capped"] = result.outcome == ExtendOutcome::capped;
    body["max_expires_at"] = result.max_expires_at;
    co_return json_response(bhttp::status::ok, dump(body));
}

}  // namespace broker
