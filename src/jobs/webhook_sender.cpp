// Sending one signed webhook over libcurl: see webhook_sender.hpp.
#include "jobs/webhook_sender.hpp"

#include "jobs/webhook_target.hpp"

namespace broker {
namespace {

HttpClientOptions client_options(const WebhookConfig& config) {
    HttpClientOptions o;
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.timeout);
    o.connect_timeout = timeout;
    o.total_timeout = timeout;
    o.max_body_bytes = 64 * 1024;  // the receiver's answer is not read beyond its status
    o.user_agent = "sandbox-broker-webhooks";
    // A receiver gets events in bursts: its connection is kept for the next delivery.
    o.reuse_connections = true;
    if (!config.allow_private_targets) {
        o.allow_address = [](const ::sockaddr* address) { return !is_internal_address(address); };
    }
    return o;
}

}  // namespace

CurlWebhookSender::CurlWebhookSender(const WebhookConfig& config) : client_(client_options(config)) {}

WebhookSendResult CurlWebhookSender::send(const WebhookMessage& message) {
    HttpRequest request;
    request.method = "POST";
    request.url = message.url;
    request.body = message.body;
    request.headers = {{"Content-Type", "application/json"},
                       {"webhook-id", message.id},
                       {"webhook-timestamp", std::to_string(message.timestamp)},
                       {"webhook-signature", message.signature}};
    const HttpResult result = client_.perform(request);
    WebhookSendResult out;
    out.latency_ms = result.elapsed.count();
    if (result.response) {
        out.http_status = static_cast<int>(result.response->status);
    } else if (result.error) {
        out.error = result.error->kind == TransportErrorKind::timeout ? "timeout: " + result.error->message
                                                                      : result.error->message;
    }
    return out;
}

}  // namespace broker
