// The sandbox record and its statuses: the domain model every layer speaks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace broker {

enum class SandboxStatus {
    available,         // in the pool, free to hand out
    allocated,         // held by one participant
    pending_deletion,  // returned or expired; waiting for the cleanup job
    stale,             // missing at the provider's last sync; forgotten after a grace period
    deletion_failed,   // the provider refused deletion too often; retried at a slow pace
    deleted,           // gone at the provider; kept as history, not counted in the pool
};

inline constexpr std::array kAllStatuses = {
    SandboxStatus::available,        SandboxStatus::allocated, SandboxStatus::pending_deletion,
    SandboxStatus::stale,            SandboxStatus::deletion_failed, SandboxStatus::deleted,
};

std::string_view to_string(SandboxStatus status);
std::optional<SandboxStatus> parse_status(std::string_view text);

struct Sandbox {
    std::string sandbox_id;       // the provider's numeric account id, as a string
    std::string name;             // never null in answers: empty when unknown
    std::string external_id;      // provider path, `identity/accounts/<uuid>`
    std::string sfdc_account_id;  // empty when the provider gave none
    SandboxStatus status = SandboxStatus::available;
    std::string allocated_to_track;  // participant id of the holder; empty when free
    std::string track_name;          // lab identifier, for analytics
    std::string idempotency_key;     // key the allocation was made under
    std::optional<UnixSeconds> allocated_at;
    std::optional<UnixSeconds> expires_at;  // allocated_at + lab duration
    std::optional<UnixSeconds> deletion_requested_at;
    int deletion_retry_count = 0;
    UnixSeconds created_at = 0;
    UnixSeconds updated_at = 0;
    std::int64_t version = 1;  // bumped by every change; the compare-and-set token
};

// One sandbox as the provider lists it: what sync and import upsert.
struct ProviderSandbox {
    std::string sandbox_id;
    std::string name;
    std::string external_id;
    std::string sfdc_account_id;
};

// Counts per status; `total` is the pool, which excludes `deleted` history.
struct StatusCounts {
    std::array<std::int64_t, kAllStatuses.size()> by_status{};
    std::int64_t& operator[](SandboxStatus s) { return by_status[static_cast<std::size_t>(s)]; }
    std::int64_t operator[](SandboxStatus s) const { return by_status[static_cast<std::size_t>(s)]; }
    std::int64_t total() const;
};

}  // namespace broker
