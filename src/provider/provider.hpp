// The provider as the sync and cleanup jobs see it: list the sandboxes, delete one, and the
// optional clean-up of services left inside a sandbox. Provider trouble (outages, HTML error
// pages, throttling) is a value the jobs branch on, never an exception.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sandbox.hpp"

namespace broker {

enum class ProviderFailureKind {
    unavailable,   // transport error, timeout or 5xx: the provider is down or struggling
    circuit_open,  // not even tried: too many recent failures, waiting before probing again
    rate_limited,  // the provider answered 429 (retry_after says when to come back)
    bad_response,  // an answer we cannot use: HTML, malformed JSON, an unexpected status
};

std::string_view to_string(ProviderFailureKind kind);

struct ProviderFailure {
    ProviderFailureKind kind = ProviderFailureKind::unavailable;
    std::string message;                              // readable; never holds credentials
    std::optional<std::chrono::seconds> retry_after;  // when the provider or breaker said
};

struct ListResult {
    std::vector<ProviderSandbox> sandboxes;  // active sandbox accounts only
    std::size_t ignored = 0;                 // listed entries that are not active sandboxes
    std::optional<ProviderFailure> failure;  // set when the list could not be had
    int attempts = 0;                        // HTTP calls made, retries included

    bool ok() const { return !failure.has_value(); }
};

// What a streamed list (Provider::stream_sandboxes) amounted to: its sandboxes went to the
// caller in parts; these are the counts of the read that succeeded.
struct ListSummary {
    std::size_t listed = 0;                  // active sandbox accounts handed over
    std::size_t ignored = 0;                 // listed entries that are not active sandboxes
    std::optional<ProviderFailure> failure;  // set when the list could not be had whole
    int attempts = 0;                        // HTTP calls made, retries included

    bool ok() const { return !failure.has_value(); }
};

// Receives a streamed list's active sandboxes, in the list's order, a part at a time.
using ListPartSink = std::function<void(std::vector<ProviderSandbox>&& part)>;

enum class DeleteStatus {
    deleted,       // the provider answered 200 or 204
    already_gone,  // 404: someone (maybe we, before a crash) deleted it already
    failed,
};

std::string_view to_string(DeleteStatus status);

struct DeleteResult {
    DeleteStatus status = DeleteStatus::failed;
    std::string reason;                          // why it failed; empty otherwise
    std::optional<ProviderFailureKind> failure;  // what kind of failure; set when status is failed
    bool retryable = false;  // a later attempt may succeed (outage, throttling, open circuit)
    std::optional<std::chrono::seconds> retry_after;
    int attempts = 0;

    // Both mean the sandbox no longer exists at the provider.
    bool gone() const { return status != DeleteStatus::failed; }
};

class Provider {
  public:
    virtual ~Provider() = default;
    // The provider's active sandbox accounts, or why they could not be listed. Blocking.
    virtual ListResult list_sandboxes() = 0;
    // The same list handed to `sink` in parts of at most `part_size` as it is read, so it is
    // never held whole. Parts may reach the sink before a failure (a list cut off or malformed
    // half-way, then retried from its start: parts of a failed read come again): a caller acts
    // on what the parts say only once the summary is ok. Blocking. By default, list_sandboxes
    // cut into parts.
    virtual ListSummary stream_sandboxes(std::size_t part_size, const ListPartSink& sink);
    // Deletes the account `external_id` (`identity/accounts/<uuid>`). Idempotent: a second
    // call reports already_gone. Blocking.
    virtual DeleteResult delete_sandbox(const std::string& external_id) = 0;
};

enum class CleanupOutcome {
    skipped,  // the clean-up step is disabled
    shadow,   // shadow mode: found `services` that would be deleted, deleted none
    cleaned,  // deleted `services` matching services
    failed,   // see reason; never blocks the sandbox's own deletion
};

std::string_view to_string(CleanupOutcome outcome);

struct CleanupResult {
    CleanupOutcome outcome = CleanupOutcome::skipped;
    int services = 0;                        // matched (shadow) or deleted (cleaned, failed)
    std::vector<std::string> service_names;  // the matched services, for the history record
    std::string reason;
};

// Removes resources left inside a sandbox before the sandbox itself is deleted (the
// NIOSXaaS "universal services" step).
class ServiceCleaner {
  public:
    virtual ~ServiceCleaner() = default;
    // Cleans the sandbox `external_id`; reports what it did or would do. Blocking.
    virtual CleanupResult cleanup(const std::string& external_id) = 0;
};

}  // namespace broker
