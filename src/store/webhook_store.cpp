// The store-independent parts of the webhook store: see webhook_store.hpp.
#include "store/webhook_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace broker {

std::string_view to_string(DeliveryStatus status) {
    switch (status) {
        case DeliveryStatus::pending:
            return "pending";
        case DeliveryStatus::delivered:
            return "delivered";
        case DeliveryStatus::failed:
            return "failed";
    }
    return "pending";
}

std::optional<DeliveryStatus> delivery_status_from(std::string_view text) {
    if (text == "pending") return DeliveryStatus::pending;
    if (text == "delivered") return DeliveryStatus::delivered;
    if (text == "failed") return DeliveryStatus::failed;
    return std::nullopt;
}

std::string join_event_types(const std::vector<std::string>& types) {
    std::string out;
    for (const auto& t : types) {
        if (!out.empty()) out += ',';
        out += t;
    }
    return out;
}

std::vector<std::string> split_event_types(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        out.emplace_back(text.substr(0, comma));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

std::string webhook_disabled_data(const WebhookSubscription& subscription, const std::string& reason) {
    const nlohmann::json data = {{"webhook_id", subscription.id},
                                 {"url", subscription.url},
                                 {"description", subscription.description},
                                 {"reason", reason}};
    return data.dump();
}

std::int64_t delivered_watermark(std::span<const WebhookSubscription> subscriptions,
                                 std::int64_t last_event_id) {
    std::int64_t mark = last_event_id;
    for (const auto& s : subscriptions)
        if (s.enabled) mark = std::min(mark, s.cursor);
    return mark;
}

}  // namespace broker
