// Webhook secrets and signatures (service/webhook_signature): the Standard Webhooks
// specification's own example, the secret's form, and verification refusing any change.
#include <gtest/gtest.h>

#include <set>

#include "jobs/webhook_signature.hpp"

namespace broker {
namespace {

// The example of the Standard Webhooks specification (and its reference libraries' tests).
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTimestamp = 1614265330;
constexpr std::string_view kBody = R"({"test": 2432232314})";

TEST(WebhookSignature, SignsTheSpecificationsExample) {
    EXPECT_EQ(sign_webhook(kSecret, kId, kTimestamp, kBody),
              "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, VerifiesItsOwnSignatureAndRefusesAnyChange) {
    const std::string signature = sign_webhook(kSecret, kId, kTimestamp, kBody);
    EXPECT_TRUE(verify_webhook(kSecret, kId, kTimestamp, kBody, signature));
    EXPECT_FALSE(verify_webhook(kSecret, kId, kTimestamp, R"({"test": 2432232315})", signature));
    EXPECT_FALSE(verify_webhook(kSecret, kId, kTimestamp + 1, kBody, signature));
    EXPECT_FALSE(verify_webhook(kSecret, "msg_other", kTimestamp, kBody, signature));
    EXPECT_FALSE(verify_webhook(generate_webhook_secret(), kId, kTimestamp, kBody, signature));
    EXPECT_FALSE(verify_webhook(kSecret, kId, kTimestamp, kBody, ""));
    // Several signatures (a rotated secret) separated by spaces: one valid is enough.
    EXPECT_TRUE(verify_webhook(kSecret, kId, kTimestamp, kBody, "v1,bm90IGl0 " + signature));
}

TEST(WebhookSignature, SecretsAreWhsecAndThirtyTwoRandomBytes) {
    std::set<std::string> seen;
    for (int i = 0; i < 20; ++i) {
        const std::string secret = generate_webhook_secret();
        ASSERT_TRUE(secret.starts_with("whsec_")) << secret;
        const auto key = webhook_secret_key(secret);
        ASSERT_TRUE(key);
        EXPECT_EQ(key->size(), 32u);
        seen.insert(secret);
    }
    EXPECT_EQ(seen.size(), 20u);
}

TEST(WebhookSignature, Base64RoundTripsEveryLength) {
    std::string bytes;
    for (int n = 0; n < 40; ++n) {
        const auto decoded = base64_decode(base64_encode(bytes));
        ASSERT_TRUE(decoded);
        EXPECT_EQ(*decoded, bytes);
        bytes.push_back(static_cast<char>(n * 37 + 1));
    }
    EXPECT_FALSE(base64_decode("abc"));
    EXPECT_FALSE(base64_decode("ab!="));
    EXPECT_THROW(sign_webhook("whsec_not base64!", kId, kTimestamp, kBody), std::invalid_argument);
}

}  // namespace
}  // namespace broker
