#include "http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "runtime/http_text.hpp"

namespace broker {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// SHA-256 fetched once: EVP_sha256() in an EVP_Digest call looks the algorithm up again (a
// provider query under a lock) and allocates a context on every request.
const EVP_MD* sha256() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

struct ContextFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::optional<std::string_view> parse_bearer(std::string_view value) {
    while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
    constexpr std::string_view kScheme = "bearer";
    if (value.size() <= kScheme.size() || !iequals_ascii(value.substr(0, kScheme.size()), kScheme))
        return std::nullopt;
    value.remove_prefix(kScheme.size());
    if (!is_space(value.front())) return std::nullopt;  // "Bearerxyz"
    while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
    if (value.empty()) return std::nullopt;
    for (char c : value) {
        if (is_space(c) || static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return std::nullopt;
    }
    return value;
}

Authenticator::Digest Authenticator::digest(std::string_view text) {
    // One context per thread, reset by each use.
    thread_local const std::unique_ptr<EVP_MD_CTX, ContextFree> ctx(EVP_MD_CTX_new());
    Digest out{};
    unsigned int size = 0;
    if (!sha256() || !ctx || EVP_DigestInit_ex(ctx.get(), sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), text.data(), text.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out.data(), &size) != 1 || size != out.size()) {
        throw std::runtime_error("SHA-256 failed");
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Hashing first makes the comparison length-independent; equal digests mean equal
    // inputs for every practical purpose.
    const auto da = Authenticator::digest(a);
    const auto db = Authenticator::digest(b);
    return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::optional<Role> TokenMemo::recall(std::string_view token) const {
    if (role_ == Role::none || token.size() > kMaxToken) return std::nullopt;
    std::array<unsigned char, kMaxToken> presented{};
    std::memcpy(presented.data(), token.data(), token.size());
    // Both the bytes and the length compared without an early exit.
    const bool same_bytes = CRYPTO_memcmp(presented.data(), token_.data(), kMaxToken) == 0;
    const bool same_size = (token.size() ^ size_) == 0;
    if (same_bytes & same_size) return role_;
    return std::nullopt;
}

TokenMemo::~TokenMemo() {
    OPENSSL_cleanse(token_.data(), token_.size());
}

void TokenMemo::remember(std::string_view token, Role role) {
    OPENSSL_cleanse(token_.data(), token_.size());
    size_ = 0;
    role_ = Role::none;
    if (role == Role::none || token.size() > kMaxToken) return;
    std::memcpy(token_.data(), token.data(), token.size());
    size_ = token.size();
    role_ = role;
}

Authenticator::Authenticator(std::string_view api_token, std::string_view admin_token) {
    if (!api_token.empty()) api_ = digest(api_token);
    if (!admin_token.empty()) admin_ = digest(admin_token);
}

Authenticator::Authenticator(const AuthOptions& options, const Clock& clock)
    : Authenticator(options.api_token, options.admin_token) {
    if (!options.viewer_token.empty()) viewer_ = digest(options.viewer_token);
    if (!options.session_key.empty())
        sessions_ = std::make_unique<SessionCookies>(options.session_key, options.session_ttl, clock);
    trusted_user_header_ = options.trusted_user_header;
    trusted_user_role_ = options.trusted_user_role;
    trusted_proxies_ = options.trusted_proxies;
}

AuthOptions AuthOptions::from(const Config& config) {
    AuthOptions options;
    options.api_token = config.api_token;
    options.admin_token = config.admin_token;
    options.viewer_token = config.viewer_token;
    if (!config.dashboard_session_secret.empty() || !config.admin_token.empty())
        options.session_key = SessionCookies::derive_key(config.dashboard_session_secret, config.admin_token);
    options.session_ttl = config.dashboard_session_ttl;
    options.trusted_user_header = config.dashboard_trusted_user_header;
    options.trusted_user_role = config.dashboard_trusted_user_role == "admin" ? Role::admin : Role::viewer;
    options.trusted_proxies = TrustedProxies::parse(config.trusted_proxies);
    return options;
}

Role Authenticator::authenticate(std::string_view authorization_header) const {
    const auto token = parse_bearer(authorization_header);
    if (!token) return Role::none;
    return token_role(*token);
}

Role Authenticator::token_role(std::string_view token) const {
    const Digest presented = digest(token);
    // Compare against every token, always, so timing does not tell which one matched.
    const bool is_admin = admin_ && CRYPTO_memcmp(presented.data(), admin_->data(), presented.size()) == 0;
    const bool is_api = api_ && CRYPTO_memcmp(presented.data(), api_->data(), presented.size()) == 0;
    const bool is_viewer = viewer_ && CRYPTO_memcmp(presented.data(), viewer_->data(), presented.size()) == 0;
    if (is_admin) return Role::admin;
    if (is_api) return Role::participant;
    if (is_viewer) return Role::viewer;
    return Role::none;
}

Authenticator::Result Authenticator::authenticate(const RequestContext& ctx, Access access) const {
    const std::string_view authorization = to_std(ctx.request[bhttp::field::authorization]);
    const bool admin_api = access == Access::admin || access == Access::admin_read;
    if (!authorization.empty() || !admin_api) {
        const auto token = parse_bearer(authorization);
        if (!token) return {Role::none, {}};
        if (ctx.token_memo) {
            if (const auto role = ctx.token_memo->recall(*token)) return {*role, {}};
        }
        const Role role = token_role(*token);
        if (ctx.token_memo) ctx.token_memo->remember(*token, role);
        return {role, {}};
    }

    const auto method = ctx.request.method();
    const bool changes_state = method != bhttp::verb::get && method != bhttp::verb::head;
    if (const auto session = session_of(ctx.request)) {
        if (changes_state &&
            !sessions_->csrf_matches(*session, to_std(ctx.request[to_beast(SessionCookies::kCsrfHeader)]))) {
            return {Role::none,
                    "a signed-in request that changes something needs the session's X-CSRF-Token"};
        }
        return {session->role, {}};
    }
    if (const Role role = trusted_user_role_of(ctx); role != Role::none) {
        if (changes_state) {
            return {Role::none,
                    "the proxy's user header alone changes nothing: sign in through /dashboard/session and "
                    "send its X-CSRF-Token"};
        }
        return {role, {}};
    }
    return {Role::none, {}};
}

std::optional<DashboardSession> Authenticator::session_of(const Request& request) const {
    if (!sessions_) return std::nullopt;
    const auto value = cookie_value(to_std(request[bhttp::field::cookie]), SessionCookies::kCookieName);
    if (!value) return std::nullopt;
    return sessions_->verify(*value);
}

bool Authenticator::from_trusted_proxy(const RequestContext& ctx) const {
    if (trusted_proxies_.empty()) return false;
    const auto peer = parse_ip(ctx.remote.to_string());
    return peer && trusted_proxies_.contains(*peer);
}

Role Authenticator::trusted_user_role_of(const RequestContext& ctx) const {
    if (trusted_user_header_.empty()) return Role::none;
    const std::string_view user = to_std(ctx.request[to_beast(trusted_user_header_)]);
    if (user.empty() || !from_trusted_proxy(ctx)) return Role::none;
    return trusted_user_role_;
}

bool Authenticator::behind_tls(const RequestContext& ctx) const {
    const std::string_view proto = to_std(ctx.request["X-Forwarded-Proto"]);
    return proto == "https" && from_trusted_proxy(ctx);
}

}  // namespace broker
