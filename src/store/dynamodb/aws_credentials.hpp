// AWS credentials for signing DynamoDB requests, and where they come from: the standard chain
// an ECS or EC2 deployment uses (environment variables, then the ECS task role, then EC2
// instance metadata), each source refreshed before its credentials expire.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/env_value.hpp"

namespace broker {

struct AwsCredentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;            // empty for long-term keys
    std::optional<UnixSeconds> expires_at;  // none: never expires (environment keys)
};

// Thread-safe. credentials() answers the current credentials, fetching new ones shortly before
// the held ones expire; throws StoreUnavailable when no source can give any.
class AwsCredentialProvider {
  public:
    virtual ~AwsCredentialProvider() = default;
    virtual AwsCredentials credentials() = 0;
};

// The chain, resolved from `env`: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
// when set, else the ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), else
// EC2 instance metadata (IMDSv2).
std::unique_ptr<AwsCredentialProvider> aws_credential_chain(const EnvLookup& env, const Clock& clock);

}  // namespace broker
