// Sending one signed webhook: an HTTP POST of the event's JSON with the Standard Webhooks
// headers (webhook-id, webhook-timestamp, webhook-signature). An interface so the
// dispatcher's tests give it a hand-written receiver; the real one is libcurl's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "jobs/webhook_config.hpp"
#include "runtime/http_client.hpp"

namespace broker {

struct WebhookMessage {
    std::string url;
    std::string id;  // webhook-id: the event's id
    std::int64_t timestamp = 0;
    std::string body;
    std::string signature;  // webhook-signature: "v1,..."
};

struct WebhookSendResult {
    std::optional<int> http_status;  // the receiver's answer, when it answered
    std::string error;               // why there was no answer (timeout, refused, ...)
    std::int64_t latency_ms = 0;

    bool delivered() const { return http_status && *http_status >= 200 && *http_status < 300; }
};

class WebhookSender {
  public:
    virtual ~WebhookSender() = default;
    // Blocks for at most the configured timeout; never throws for network trouble. Called
    // from several threads at once.
    virtual WebhookSendResult send(const WebhookMessage& message) = 0;
};

// libcurl, connections kept open between attempts (a pool of easy handles, one per attempt in
// flight), no redirects followed, each attempt bounded by WEBHOOK_TIMEOUT_SEC; with private
// targets refused, every address it opens a connection to is checked first (a kept connection
// was checked when it was opened).
class CurlWebhookSender final : public WebhookSender {
  public:
    explicit CurlWebhookSender(const WebhookConfig& config);
    WebhookSendResult send(const WebhookMessage& message) override;

  private:
    HttpClient client_;
};

}  // namespace broker
