// Webhook secrets and signatures: see webhook_signature.hpp.
#include "jobs/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace broker {

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out(3 * text.size() / 4, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding's zero bytes: take them off again.
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
    out.resize(size);
    return out;
}

std::string generate_webhook_secret() {
    std::array<unsigned char, kWebhookSecretBytes> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
    const std::string encoded = base64_encode({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return std::string(kWebhookSecretPrefix) + encoded;
}

std::optional<std::string> webhook_secret_key(std::string_view secret) {
    if (secret.starts_with(kWebhookSecretPrefix)) secret.remove_prefix(kWebhookSecretPrefix.size());
    return base64_decode(secret);
}

std::string sign_webhook(std::string_view secret, std::string_view message_id, std::int64_t timestamp,
                         std::string_view body) {
    const auto key = webhook_secret_key(secret);
    if (!key) throw std::invalid_argument("the webhook secret is not base64");
    std::string message;
    message.reserve(message_id.size() + body.size() + 24);
    message.append(message_id).append(".").append(std::to_string(timestamp)).append(".").append(body);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
              reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(), &size)) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return "v1," + base64_encode({reinterpret_cast<const char*>(digest.data()), size});
}

bool verify_webhook(std::string_view secret, std::string_view message_id, std::int64_t timestamp,
                    std::string_view body, std::string_view signature_header) {
    const std::string expected = sign_webhook(secret, message_id, timestamp, body);
    bool any = false;
    while (!signature_header.empty()) {
        const auto space = signature_header.find(' ');
        const std::string_view one = signature_header.substr(0, space);
        if (one.size() == expected.size() && CRYPTO_memcmp(one.data(), expected.data(), one.size()) == 0)
            any = true;
        if (space == std::string_view::npos) break;
        signature_header.remove_prefix(space + 1);
    }
    return any;
}

}  // namespace broker
