// The libcurl webhook sender (jobs/webhook_sender) against a scripted receiver on 127.0.0.1:
// the Standard Webhooks headers and the body as given, answers and timeouts as values, and
// private targets refused at connection time when WEBHOOK_ALLOW_PRIVATE_TARGETS is false,
// and a receiver's connection kept for the next delivery.
#include <gtest/gtest.h>

#include "jobs/webhook_sender.hpp"
#include "jobs/webhook_signature.hpp"
#include "support/scripted_http_server.hpp"

namespace broker {
namespace {

WebhookMessage message(const std::string& url) {
    WebhookMessage m;
    m.url = url;
    m.id = "evt_42";
    m.timestamp = 1'700'000'000;
    m.body = R"({"id":"evt_42","type":"sandbox.allocated"})";
    m.signature = sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", m.id, m.timestamp, m.body);
    return m;
}

TEST(WebhookSender, PostsTheBodyWithTheStandardWebhooksHeaders) {
    testing::ScriptedHttpServer receiver;
    receiver.script("POST", "/hook", {testing::ScriptedResponse::json(204, "")});
    CurlWebhookSender sender(WebhookConfig{});
    const auto sent = sender.send(message(receiver.base_url() + "/hook"));
    EXPECT_TRUE(sent.delivered());
    EXPECT_EQ(sent.http_status, 204);
    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 1u);
    const auto& r = requests[0];
    EXPECT_EQ(r.body, message("").body);
    EXPECT_EQ(r.header("webhook-id"), "evt_42");
    EXPECT_EQ(r.header("webhook-timestamp"), "1700000000");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_TRUE(verify_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", r.header("webhook-id"),
                               1'700'000'000, r.body, r.header("webhook-signature")));
}

TEST(WebhookSender, AnErrorAnswerAndATimeoutAreFailedAttempts) {
    testing::ScriptedHttpServer receiver;
    receiver.script("POST", "/down", {testing::ScriptedResponse::json(503, "{}")});
    testing::ScriptedResponse slow = testing::ScriptedResponse::json(200, "");
    slow.delay = std::chrono::milliseconds(2500);
    receiver.script("POST", "/slow", {slow});
    WebhookConfig config;
    config.timeout = std::chrono::seconds(1);
    CurlWebhookSender sender(config);
    const auto down = sender.send(message(receiver.base_url() + "/down"));
    EXPECT_FALSE(down.delivered());
    EXPECT_EQ(down.http_status, 503);
    const auto timed_out = sender.send(message(receiver.base_url() + "/slow"));
    EXPECT_FALSE(timed_out.delivered());
    EXPECT_FALSE(timed_out.http_status);
    EXPECT_TRUE(timed_out.error.starts_with("timeout")) << timed_out.error;
}

TEST(WebhookSender, KeepsTheConnectionOpenForTheNextDelivery) {
    testing::ScriptedHttpServer receiver;  // declared first: the sender closes its connection first
    receiver.set_keep_alive(true);
    receiver.script("POST", "/hook", {testing::ScriptedResponse::json(204, "")});
    CurlWebhookSender sender(WebhookConfig{});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(sender.send(message(receiver.base_url() + "/hook")).delivered());
    EXPECT_EQ(receiver.requests().size(), 3u);
    EXPECT_EQ(receiver.connections(), 1u) << "one connection for the three deliveries";
}

TEST(WebhookSender, ANewConnectionAfterTheReceiverClosedItsOwn) {
    testing::ScriptedHttpServer receiver;  // closes every connection after its answer
    receiver.script("POST", "/hook", {testing::ScriptedResponse::json(204, "")});
    CurlWebhookSender sender(WebhookConfig{});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(sender.send(message(receiver.base_url() + "/hook")).delivered());
    EXPECT_EQ(receiver.connections(), 3u);
}

TEST(WebhookSender, PrivateTargetsAreRefusedAtConnectionWhenNotAllowed) {
    testing::ScriptedHttpServer receiver;
    receiver.script("POST", "/hook", {testing::ScriptedResponse::json(200, "")});
    WebhookConfig config;
    config.allow_private_targets = false;
    CurlWebhookSender sender(config);
    for (const std::string host : {"127.0.0.1", "localhost"}) {
        const auto sent =
            sender.send(message("http://" + host + ":" + std::to_string(receiver.port()) + "/hook"));
        EXPECT_FALSE(sent.delivered()) << host;
        EXPECT_FALSE(sent.http_status) << host;
        EXPECT_FALSE(sent.error.empty()) << host;
    }
    EXPECT_TRUE(receiver.requests().empty()) << "nothing reached the internal address";
}

}  // namespace
}  // namespace broker
