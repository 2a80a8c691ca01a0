// Webhook secrets and signatures the Standard Webhooks way: a secret is "whsec_" + base64 of
// random bytes; a message is signed with HMAC-SHA256 over "{id}.{timestamp}.{body}" keyed by
// the secret's decoded bytes, and sent as "v1," + base64 of the digest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace broker {

inline constexpr std::string_view kWebhookSecretPrefix = "whsec_";
inline constexpr int kWebhookSecretBytes = 32;

// A new secret from OpenSSL's RAND_bytes; throws std::runtime_error when it fails.
std::string generate_webhook_secret();

// The key bytes of a "whsec_..." secret (the part after the prefix, base64-decoded; a secret
// without the prefix is decoded whole); nothing when it is not valid base64.
std::optional<std::string> webhook_secret_key(std::string_view secret);

// The webhook-signature header's value: "v1," + base64(HMAC-SHA256(key, id.timestamp.body)).
std::string sign_webhook(std::string_view secret, std::string_view message_id, std::int64_t timestamp,
                         std::string_view body);

// Whether `signature_header` (one or more space-separated "v1,..." signatures) holds a valid
// signature of the message, compared in constant time.
bool verify_webhook(std::string_view secret, std::string_view message_id, std::int64_t timestamp,
                    std::string_view body, std::string_view signature_header);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace broker
