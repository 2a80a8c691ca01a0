// The DynamoDB JSON protocol (POST, X-Amz-Target: DynamoDB_20120810.<Op>, application/x-amz-json-1.0),
// signed with SigV4. Throttling, 5xx answers and transport failures are retried a bounded
// number of times with full jitter; what is left becomes StoreUnavailable. Any other error
// comes back as a value, for the store to decide whether it is a domain outcome (a failed
// condition) or a failure.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "store/dynamodb/aws_credentials.hpp"
#include "store/dynamodb/signed_http.hpp"

namespace broker::ddb {

struct DynamoClientOptions {
    std::string endpoint;  // e.g. https://dynamodb.us-east-1.amazonaws.com or http://127.0.0.1:4567
    std::string region = "us-east-1";
    int max_attempts = 5;                         // per call, first try included
    std::chrono::milliseconds backoff_base{25};   // the first retry waits up to this (full jitter)
    std::chrono::milliseconds backoff_cap{1000};  // no single wait longer than this
    SignedHttpOptions http;
    // Tests only: called with each attempt's operation and request body once the endpoint has
    // answered; true throws that answer away as if the connection broke after the request was
    // applied (what a lost reply looks like to the caller). Unset in every real store.
    std::function<bool(std::string_view operation, const std::string& body)> lose_answer;
};

// The regional endpoint AWS serves DynamoDB on.
std::string regional_endpoint(const std::string& region);

struct DynamoReply {
    nlohmann::json body;     // the answer's JSON when ok
    std::string error_type;  // e.g. "ConditionalCheckFailedException"; empty when ok
    std::string message;
    // An earlier attempt of this call broke off without an answer (a transport failure or a
    // 5xx): it may have been applied. A failed condition then may be that attempt's own write.
    bool maybe_applied = false;

    bool ok() const { return error_type.empty(); }
    bool is(std::string_view type) const { return error_type == type; }
};

class DynamoClient {
  public:
    DynamoClient(DynamoClientOptions options, std::shared_ptr<AwsCredentialProvider> credentials);

    // One operation. Throws StoreUnavailable when no answer came after the retries (or the
    // answer was not JSON); other DynamoDB errors are returned.
    DynamoReply call(std::string_view operation, const nlohmann::json& request) const;

    // As call(), but any error is a failure (StoreUnavailable naming the operation).
    nlohmann::json must(std::string_view operation, const nlohmann::json& request) const;

    const DynamoClientOptions& options() const { return options_; }

  private:
    DynamoClientOptions options_;
    std::shared_ptr<AwsCredentialProvider> credentials_;
    SignedHttp http_;
};

// While one lives, calls on this thread start no attempt (and sleep no backoff) past
// `deadline`: they throw StoreUnavailable instead. Bounds a multi-step operation's total time
// across the client's retries.
class CallDeadline {
  public:
    explicit CallDeadline(std::chrono::steady_clock::time_point deadline);
    ~CallDeadline();
    CallDeadline(const CallDeadline&) = delete;
    CallDeadline& operator=(const CallDeadline&) = delete;

  private:
    std::optional<std::chrono::steady_clock::time_point> previous_;
};

// Whether a DynamoDB error type is worth another try (throttling, an internal error).
bool is_retryable_error(std::string_view error_type);

}  // namespace broker::ddb
