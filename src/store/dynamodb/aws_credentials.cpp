// The AWS credential chain: environment keys, the ECS task role, EC2 instance metadata
// (IMDSv2), each fetched over libcurl with short timeouts and refreshed before it expires.
#include "store/dynamodb/aws_credentials.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "runtime/http_client.hpp"
#include "store/dynamodb/static_credentials.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;

// Where the ECS agent and the instance metadata service answer on AWS.
constexpr std::string_view kEcsBaseUrl = "http://169.254.170.2";
constexpr std::string_view kImdsBaseUrl = "http://169.254.169.254";

// Both services are link-local and answer in milliseconds; a long wait only means "not here",
// and every store request waits on it, so give up quickly (the AWS SDKs wait about 1 s).
constexpr milliseconds kConnectTimeout{1000};
constexpr milliseconds kTotalTimeout{2000};
// Temporary credentials are replaced this long before they expire (the services hand out new
// ones at least five minutes ahead), so a request signed just before never carries stale ones.
constexpr UnixSeconds kRefreshBefore = 5 * 60;
// After a failed refresh while the held credentials are still good, the next try waits this
// long instead of stalling every request on a service that does not answer.
constexpr UnixSeconds kRetryAfterFailure = 30;
// With no usable credentials at all, a failed fetch answers every call for this long, so a
// burst of requests while the service is down costs one wait on it, not one each.
constexpr UnixSeconds kRetryWithoutCredentials = 5;
constexpr const char* kImdsTokenTtlSeconds = "21600";

// "2026-11-30T12:00:00Z" (fractional seconds and "+00:00" also accepted), the form both
// services give Expiration in; nothing when it is not that.
std::optional<UnixSeconds> parse_expiration(const std::string& text) {
    std::tm tm{};
    const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == nullptr) return std::nullopt;
    if (*rest == '.') {
        ++rest;
        while (*rest >= '0' && *rest <= '9') ++rest;
    }
    const std::string_view zone(rest);
    if (zone != "Z" && zone != "+00:00") return std::nullopt;
    return static_cast<UnixSeconds>(timegm(&tm));
}

// The credentials in a metadata answer ({"AccessKeyId", "SecretAccessKey", "Token",
// "Expiration"}); throws StoreUnavailable naming `source` (never the body: it holds secrets).
AwsCredentials parse_credentials(const std::string& body, const std::string& source) {
    const auto doc = nlohmann::json::parse(body, nullptr, false);
    auto text = [&](const char* key) -> std::string {
        if (!doc.is_object() || !doc.contains(key) || !doc[key].is_string()) return {};
        return doc[key].get<std::string>();
    };
    if (doc.is_object() && doc.contains("Code") && doc["Code"].is_string() && doc["Code"] != "Success") {
        throw StoreUnavailable(source + ": answered Code " + doc["Code"].get<std::string>());
    }
    AwsCredentials credentials;
    credentials.access_key_id = text("AccessKeyId");
    credentials.secret_access_key = text("SecretAccessKey");
    credentials.session_token = text("Token");
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
        throw StoreUnavailable(source + ": answer has no AccessKeyId/SecretAccessKey");
    }
    const auto expiration = text("Expiration");
    if (!expiration.empty()) {
        credentials.expires_at = parse_expiration(expiration);
        if (!credentials.expires_at) {
            throw StoreUnavailable(source + ": Expiration is not an ISO 8601 UTC time: " + expiration);
        }
    }
    return credentials;
}

// One exchange; the answer when it is a 200, else StoreUnavailable saying what went wrong.
std::string fetch(const HttpClient& client, const HttpRequest& request, const std::string& what) {
    const auto result = client.perform(request);
    if (!result.ok()) throw StoreUnavailable(what + ": " + result.error->message);
    if (result.response->status != 200) {
        throw StoreUnavailable(what + ": HTTP " + std::to_string(result.response->status));
    }
    return result.response->body;
}

HttpClient metadata_client() {
    return HttpClient({.connect_timeout = kConnectTimeout,
                       .total_timeout = kTotalTimeout,
                       .max_body_bytes = 64 * 1024,
                       .user_agent = "sandbox-broker"});
}

// The part of a URL between "://" and the path, without userinfo and port: what the ECS
// full-URI rule below is about.
std::string url_host(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return {};
    auto authority = url.substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    if (authority.starts_with('[')) return std::string(authority.substr(0, authority.find(']') + 1));
    return std::string(authority.substr(0, authority.find(':')));
}

// A source of temporary credentials: fetch() asks the service once; throws StoreUnavailable.
class CredentialSource {
  public:
    virtual ~CredentialSource() = default;
    virtual AwsCredentials fetch() = 0;
    virtual std::string describe() const = 0;
};

class EcsTaskRole final : public CredentialSource {
  public:
    EcsTaskRole(std::string url, std::optional<std::string> token, std::optional<std::string> token_file)
        : url_(std::move(url)), token_(std::move(token)), token_file_(std::move(token_file)) {}

    AwsCredentials fetch() override {
        HttpRequest request{"GET", url_, {{"Accept", "application/json"}}, ""};
        if (const auto token = authorization()) request.headers.emplace_back("Authorization", *token);
        return parse_credentials(broker::fetch(client_, request, describe()), describe());
    }

    // Without the path: a relative URI is the task's own key to its credentials.
    std::string describe() const override {
        const auto scheme_end = url_.find("://");
        const auto path = scheme_end == std::string::npos ? 0 : url_.find_first_of("/?#", scheme_end + 3);
        return "ECS task role (" + url_.substr(0, path) + ")";
    }

  private:
    // The token file wins over the variable, and is read on every fetch: the agent rotates it.
    std::optional<std::string> authorization() const {
        if (token_file_) {
            std::ifstream in(*token_file_);
            if (!in)
                throw StoreUnavailable(describe() + ": cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " +
                                       *token_file_);
            std::stringstream text;
            text << in.rdbuf();
            const auto token = trim_setting(text.str());
            if (token.empty())
                throw StoreUnavailable(describe() + ": AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " +
                                       *token_file_ + " is empty");
            return token;
        }
        return token_;
    }

    std::string url_;
    std::optional<std::string> token_;
    std::optional<std::string> token_file_;
    HttpClient client_ = metadata_client();
};

class InstanceMetadata final : public CredentialSource {
  public:
    explicit InstanceMetadata(std::string base_url) : base_url_(std::move(base_url)) {
        while (base_url_.ends_with('/')) base_url_.pop_back();
    }

    AwsCredentials fetch() override {
        const std::string what = describe();
        const HttpRequest token_request{"PUT",
                                        base_url_ + "/latest/api/token",
                                        {{"X-aws-ec2-metadata-token-ttl-seconds", kImdsTokenTtlSeconds}},
                                        ""};
        const auto token = trim_setting(broker::fetch(client_, token_request, what + ": session token"));
        if (token.empty()) throw StoreUnavailable(what + ": empty session token");

        const std::string roles_url = base_url_ + "/latest/meta-data/iam/security-credentials/";
        const HttpHeaders with_token{{"X-aws-ec2-metadata-token", token}};
        const HttpRequest role_request{"GET", roles_url, with_token, ""};
        const auto roles = broker::fetch(client_, role_request, what + ": role name");
        const auto role = trim_setting(roles.substr(0, roles.find('\n')));
        if (!valid_role_name(role)) throw StoreUnavailable(what + ": no usable instance role name");

        const HttpRequest credentials_request{"GET", roles_url + role, with_token, ""};
        return parse_credentials(broker::fetch(client_, credentials_request, what + ": role " + role),
                                 what + ": role " + role);
    }

    std::string describe() const override { return "EC2 instance metadata (" + base_url_ + ")"; }

  private:
    // IAM role names are letters, digits and +=,.@_- : anything else would change the path.
    static bool valid_role_name(const std::string& role) {
        if (role.empty() || role.size() > 64) return false;
        for (char c : role) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            std::string_view("+=,.@_-").find(c) != std::string_view::npos;
            if (!ok) return false;
        }
        return true;
    }

    std::string base_url_;
    HttpClient client_ = metadata_client();
};

// Holds the source's credentials and fetches new ones kRefreshBefore their expiry. One
// thread fetches at a time; while it does, the others keep using the held credentials if
// they are still valid, and wait for the fetch otherwise (and share its failure).
class RefreshingCredentials final : public AwsCredentialProvider {
  public:
    RefreshingCredentials(std::unique_ptr<CredentialSource> source, std::string skipped, const Clock& clock)
        : source_(std::move(source)), skipped_(std::move(skipped)), clock_(clock) {}

    AwsCredentials credentials() override {
        std::unique_lock lock(mutex_);
        for (;;) {
            const UnixSeconds now = clock_.now();
            const bool valid = held_ && (!held_->expires_at || now < *held_->expires_at);
            if (valid && now < refresh_at_) return *held_;
            if (!fetching_) {
                if (!valid && !last_failure_.empty() && now < retry_fetch_at_) {
                    throw StoreUnavailable(last_failure_);
                }
                break;
            }
            if (valid) return *held_;  // another thread is refreshing them
            const std::uint64_t generation = fetches_;
            fetched_.wait(lock, [&] { return fetches_ != generation; });
        }

        fetching_ = true;
        lock.unlock();
        std::optional<AwsCredentials> fresh;
        std::string failure;
        try {
            fresh = source_->fetch();
        } catch (const StoreUnavailable& e) {
            failure = e.what();
        }
        lock.lock();
        fetching_ = false;
        ++fetches_;
        fetched_.notify_all();

        const UnixSeconds now = clock_.now();
        if (fresh && fresh->expires_at && *fresh->expires_at <= now) {
            failure = source_->describe() + ": answered credentials that have already expired";
            fresh.reset();
        }
        if (fresh) {
            last_failure_.clear();
            held_ = std::move(fresh);
            refresh_at_ = held_->expires_at ? std::max(*held_->expires_at - kRefreshBefore,
                                                       std::min(now + kRetryAfterFailure, *held_->expires_at))
                                            : std::numeric_limits<UnixSeconds>::max();
            return *held_;
        }
        if (held_ && held_->expires_at && now < *held_->expires_at) {
            spdlog::warn("AWS credentials not refreshed, the held ones stay valid until {}: {}",
                         *held_->expires_at, failure);
            refresh_at_ = now + kRetryAfterFailure;
            return *held_;
        }
        last_failure_ = "no AWS credentials: " + skipped_ + failure;
        retry_fetch_at_ = now + kRetryWithoutCredentials;
        throw StoreUnavailable(last_failure_);
    }

  private:
    std::unique_ptr<CredentialSource> source_;
    std::string skipped_;  // the sources before this one and why they were not used
    const Clock& clock_;

    std::mutex mutex_;
    std::condition_variable fetched_;
    bool fetching_ = false;
    std::uint64_t fetches_ = 0;  // fetches finished, so waiters know theirs is done
    std::optional<AwsCredentials> held_;
    UnixSeconds refresh_at_ = 0;
    std::string last_failure_;  // of the last fetch, when it left no valid credentials
    UnixSeconds retry_fetch_at_ = 0;
};

// A source that is not configured, or was switched off: says so on every call.
class NoCredentials final : public AwsCredentialProvider {
  public:
    explicit NoCredentials(std::string reason) : reason_(std::move(reason)) {}
    AwsCredentials credentials() override { throw StoreUnavailable("no AWS credentials: " + reason_); }

  private:
    std::string reason_;
};

// Plain-HTTP full URIs may only name the container agent's own addresses or this host, so the
// authorization token never crosses a network in the clear (the AWS SDKs' rule).
bool allowed_full_uri(const std::string& uri) {
    if (uri.starts_with("https://")) return true;
    if (!uri.starts_with("http://")) return false;
    const auto host = url_host(uri);
    return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "169.254.170.2" ||
           host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

}  // namespace

// The chain with the two link-local services at other addresses. Declared only by the unit
// tests, which play those services on loopback; production code reaches the chain through
// the header's two-argument form, which always uses the real addresses.
std::unique_ptr<AwsCredentialProvider> aws_credential_chain(const EnvLookup& env, const Clock& clock,
                                                            const std::string& ecs_base_url,
                                                            const std::string& imds_base_url) {
    const auto key_id = env_text(env, "AWS_ACCESS_KEY_ID");
    const auto secret = env_text(env, "AWS_SECRET_ACCESS_KEY");
    if (key_id && !key_id->empty() && secret && !secret->empty()) {
        AwsCredentials credentials;
        credentials.access_key_id = *key_id;
        credentials.secret_access_key = *secret;
        credentials.session_token = env_text(env, "AWS_SESSION_TOKEN").value_or("");
        return std::make_unique<StaticAwsCredentials>(std::move(credentials));
    }
    std::string skipped =
        (key_id && !key_id->empty()) || (secret && !secret->empty())
            ? "environment: only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; "
            : "environment: AWS_ACCESS_KEY_ID not set; ";

    // A task whose role cannot be fetched stops here rather than borrowing the instance's role.
    const auto relative = env_text(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const auto full = env_text(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if ((relative && !relative->empty()) || (full && !full->empty())) {
        std::string url;
        if (relative && !relative->empty()) {
            if (!relative->starts_with('/')) {
                return std::make_unique<NoCredentials>(
                    skipped +
                    "ECS task role: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                    "does not start with '/'");
            }
            url = ecs_base_url + *relative;
        } else {
            if (!allowed_full_uri(*full)) {
                return std::make_unique<NoCredentials>(
                    skipped +
                    "ECS task role: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to "
                    "the container agent (169.254.170.2, 169.254.170.23) or a loopback address");
            }
            url = *full;
        }
        auto token_file = env_text(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        if (token_file && token_file->empty()) token_file.reset();
        auto token = env_text(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if (token && token->empty()) token.reset();
        return std::make_unique<RefreshingCredentials>(
            std::make_unique<EcsTaskRole>(std::move(url), std::move(token), std::move(token_file)),
            std::move(skipped), clock);
    }
    skipped += "ECS task role: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI not set; ";

    if (env_bool(env, "AWS_EC2_METADATA_DISABLED").value_or(false)) {
        return std::make_unique<NoCredentials>(skipped + "EC2 instance metadata: AWS_EC2_METADATA_DISABLED");
    }
    auto imds = env_text(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const std::string imds_url = imds && !imds->empty() ? *imds : imds_base_url;
    return std::make_unique<RefreshingCredentials>(std::make_unique<InstanceMetadata>(imds_url),
                                                   std::move(skipped), clock);
}

std::unique_ptr<AwsCredentialProvider> aws_credential_chain(const EnvLookup& env, const Clock& clock) {
    return aws_credential_chain(env, clock, std::string(kEcsBaseUrl), std::string(kImdsBaseUrl));
}

}  // namespace broker
