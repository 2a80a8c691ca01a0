// The DynamoDB JSON protocol over SignedHttp: see dynamo_client.hpp.
#include "store/dynamodb/dynamo_client.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include "core/errors.hpp"

namespace broker::ddb {
namespace {

thread_local std::optional<std::chrono::steady_clock::time_point> call_deadline;

// "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" -> the part after '#'.
std::string short_type(const std::string& type) {
    const auto hash = type.rfind('#');
    return hash == std::string::npos ? type : type.substr(hash + 1);
}

std::chrono::milliseconds jittered(const DynamoClientOptions& o, int retry) {
    thread_local std::mt19937_64 random{std::random_device{}()};
    const auto ceiling =
        std::min<std::int64_t>(o.backoff_cap.count(), o.backoff_base.count() << std::min(retry, 16));
    std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(ceiling, 1));
    return std::chrono::milliseconds(pick(random));
}

}  // namespace

CallDeadline::CallDeadline(std::chrono::steady_clock::time_point deadline) : previous_(call_deadline) {
    call_deadline = previous_ ? std::min(*previous_, deadline) : deadline;
}

CallDeadline::~CallDeadline() {
    call_deadline = previous_;
}

std::string regional_endpoint(const std::string& region) {
    return "https://dynamodb." + region + ".amazonaws.com";
}

bool is_retryable_error(std::string_view type) {
    return type == "ProvisionedThroughputExceededException" || type == "ThrottlingException" ||
           type == "RequestLimitExceeded" || type == "InternalServerError" || type == "ServiceUnavailable" ||
           type == "InternalFailure";
}

DynamoClient::DynamoClient(DynamoClientOptions options, std::shared_ptr<AwsCredentialProvider> credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)), http_(options_.http) {
    if (options_.endpoint.empty()) options_.endpoint = regional_endpoint(options_.region);
    while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
}

DynamoReply DynamoClient::call(std::string_view operation, const nlohmann::json& request) const {
    SignedRequest r;
    r.url = options_.endpoint + "/";
    r.region = options_.region;
    r.service = "dynamodb";
    r.headers = {"Content-Type: application/x-amz-json-1.0",
                 "X-Amz-Target: DynamoDB_20120810." + std::string(operation)};
    try {
        r.body = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    } catch (const nlohmann::json::exception&) {
        // DynamoDB speaks UTF-8 only; a store value never is anything else.
        throw StoreUnavailable("DynamoDB " + std::string(operation) + ": a request value is not valid UTF-8");
    }
    std::string last_failure;
    bool maybe_applied = false;
    const int attempts = std::max(1, options_.max_attempts);
    const auto past_deadline = [&](std::chrono::milliseconds wait) {
        return call_deadline && std::chrono::steady_clock::now() + wait >= *call_deadline;
    };
    for (int attempt = 1; attempt <= attempts; ++attempt) {
        if (attempt > 1) {
            const auto wait = jittered(options_, attempt - 2);
            if (past_deadline(wait)) break;
            std::this_thread::sleep_for(wait);
        } else if (past_deadline(std::chrono::milliseconds(0))) {
            throw StoreUnavailable("DynamoDB " + std::string(operation) + ": the operation ran out of time");
        }
        r.credentials = credentials_->credentials();
        const SignedResult result = http_.perform(r);
        if (!result.response || (options_.lose_answer && options_.lose_answer(operation, r.body))) {
            last_failure = "no answer: " + (result.response ? std::string("lost") : result.transport_error);
            maybe_applied = true;
            continue;
        }
        const SignedResponse& response = *result.response;
        nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
        if (response.status == 200) {
            if (body.is_discarded() || !body.is_object()) {
                throw StoreUnavailable("DynamoDB " + std::string(operation) + ": the answer is not JSON");
            }
            return {std::move(body), {}, {}, maybe_applied};
        }
        DynamoReply reply;
        if (body.is_object()) {
            reply.error_type = short_type(body.value("__type", std::string()));
            reply.message = body.value("message", body.value("Message", std::string()));
        }
        if (reply.error_type.empty()) reply.error_type = "HTTP " + std::to_string(response.status);
        if (response.status >= 500 || is_retryable_error(reply.error_type)) {
            // Throttling refuses a request; an internal error may come after it was applied.
            if (response.status >= 500) maybe_applied = true;
            last_failure = reply.error_type + (reply.message.empty() ? "" : ": " + reply.message);
            continue;
        }
        reply.maybe_applied = maybe_applied;
        return reply;
    }
    throw StoreUnavailable("DynamoDB " + std::string(operation) + " failed after " +
                           std::to_string(attempts) + " attempts: " + last_failure);
}

nlohmann::json DynamoClient::must(std::string_view operation, const nlohmann::json& request) const {
    DynamoReply reply = call(operation, request);
    if (!reply.ok()) {
        throw StoreUnavailable("DynamoDB " + std::string(operation) + " failed: " + reply.error_type +
                               (reply.message.empty() ? "" : ": " + reply.message));
    }
    return std::move(reply.body);
}

}  // namespace broker::ddb
