// Webhook subscriptions through the admin API: see webhook_service.hpp.
#include "service/webhook_service.hpp"

#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include "jobs/webhook_signature.hpp"
#include "jobs/webhook_target.hpp"

namespace broker {
namespace {

constexpr std::size_t kMaxDescription = 500;
constexpr std::size_t kMaxEventTypes = 50;
constexpr std::size_t kMaxEventTypeLength = 100;

Refusal invalid(std::string message) {
    return Refusal{ErrorCode::invalid_request, std::move(message)};
}

}  // namespace

std::string new_webhook_id() {
    std::array<unsigned char, 12> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = "wh_";
    for (const unsigned char b : bytes) {
        id += kHex[b >> 4];
        id += kHex[b & 0xF];
    }
    return id;
}

bool valid_event_type(std::string_view type) {
    if (type == "*") return true;
    if (type.empty() || type.size() > kMaxEventTypeLength || type.front() == '.' || type.back() == '.')
        return false;
    for (const char c : type) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_')) return false;
    }
    return true;
}

WebhookService::WebhookService(WebhookStore& store, EventStore* events, const Clock& clock,
                               WebhookConfig config)
    : store_(store), events_(events), clock_(clock), config_(config) {}

std::optional<Refusal> WebhookService::check(const NewWebhook& request) const {
    if (auto problem = webhook_url_problem(request.url)) return invalid(*problem);
    if (request.event_types.empty())
        return invalid("event_types must name at least one event type, or be \"*\" for every type");
    if (request.event_types.size() > kMaxEventTypes)
        return invalid("event_types may name " + std::to_string(kMaxEventTypes) + " types at most");
    for (const auto& type : request.event_types) {
        if (!valid_event_type(type)) return invalid("event type \"" + type + "\" is not a valid event type");
    }
    if (request.description.size() > kMaxDescription)
        return invalid("description may be " + std::to_string(kMaxDescription) + " bytes at most");
    if (!config_.allow_private_targets) {
        if (auto problem = internal_target_problem(webhook_url_host(request.url))) return invalid(*problem);
    }
    return std::nullopt;
}

Checked<WebhookSubscription> WebhookService::create(const NewWebhook& request) {
    if (auto refusal = check(request)) return {std::nullopt, std::move(refusal)};
    WebhookSubscription s;
    s.id = new_webhook_id();
    s.url = request.url;
    for (const auto& type : request.event_types) {
        if (type == "*") {
            s.event_types = {"*"};
            break;
        }
        s.event_types.push_back(type);
    }
    s.description = request.description;
    s.secret = generate_webhook_secret();
    s.created_at = clock_.now();
    s.cursor = events_ ? events_->last_event_id() : 0;
    store_.create_webhook(s);
    return Checked<WebhookSubscription>::ok(std::move(s));
}

std::vector<WebhookSubscription> WebhookService::list() {
    return store_.list_webhooks();
}

std::optional<WebhookSubscription> WebhookService::get(const std::string& id) {
    return store_.get_webhook(id);
}

bool WebhookService::remove(const std::string& id) {
    return store_.delete_webhook(id);
}

std::optional<WebhookSubscription> WebhookService::enable(const std::string& id) {
    if (!store_.enable_webhook(id)) return std::nullopt;
    return store_.get_webhook(id);
}

std::optional<DeliveryPage> WebhookService::deliveries(const std::string& id,
                                                       std::optional<std::int64_t> before, int limit) {
    if (!store_.get_webhook(id)) return std::nullopt;
    return store_.list_deliveries(id, before, limit);
}

std::optional<WebhookDelivery> WebhookService::redeliver(const std::string& id, std::int64_t delivery_id) {
    return store_.redeliver(id, delivery_id, clock_.now());
}

Checked<int> WebhookService::parse_limit(const std::optional<std::string>& text) {
    if (!text) return Checked<int>::ok(100);
    int value = 0;
    const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || ptr != text->data() + text->size() || value < 1 || value > kMaxDeliveryPage) {
        return Checked<int>::refuse(ErrorCode::invalid_request, "limit must be a whole number from 1 to " +
                                                                    std::to_string(kMaxDeliveryPage));
    }
    return Checked<int>::ok(value);
}

Checked<std::int64_t> WebhookService::parse_delivery_id(std::string_view text) {
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 1) {
        return Checked<std::int64_t>::refuse(ErrorCode::invalid_request,
                                             "a delivery id is a positive whole number");
    }
    return Checked<std::int64_t>::ok(value);
}

}  // namespace broker
