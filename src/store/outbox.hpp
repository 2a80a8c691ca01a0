// What every store writes into its outbox, decided in one place: which event a transition is,
// the event's data (the sandbox's fields, participant, track, actor), the payload a reader
// gets, and the switch, counter and test hook the process sets on a store (OutboxControl).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/sandbox.hpp"

namespace broker {

// The event types the stores write for sandbox transitions; pool and job events come
// through EventStore::append_event.
inline constexpr std::string_view kEventAllocated = "sandbox.allocated";
inline constexpr std::string_view kEventExtended = "sandbox.extended";
inline constexpr std::string_view kEventReturned = "sandbox.returned";
inline constexpr std::string_view kEventExpired = "sandbox.expired";
inline constexpr std::string_view kEventDeleted = "sandbox.deleted";
inline constexpr std::string_view kEventDeletionFailed = "sandbox.deletion_failed";
inline constexpr std::string_view kEventStale = "sandbox.stale";
inline constexpr std::string_view kEventSynced = "sandbox.synced";
inline constexpr std::string_view kEventPoolLow = "pool.low";
inline constexpr std::string_view kEventPoolRecovered = "pool.recovered";
inline constexpr std::string_view kEventJobFailed = "job.failed";

// The event a recorded transition is, or nothing (a sandbox removed from the store, a
// deletion put back in the queue): `from` none for a new sandbox, `to` none for a removal.
// An allocation ended by the expiry job (actor "auto_expiry") is `expired`, any other end of
// an allocation (the participant, an admin) is `returned`.
std::optional<std::string_view> transition_event_type(std::optional<SandboxStatus> from,
                                                      std::optional<SandboxStatus> to,
                                                      std::string_view actor);

// The event's `data`, a JSON object: the sandbox's fields after the change, the status it
// came from, participant, track, actor and the history's reason (keys in byte order).
std::string transition_event_data(const Sandbox& row, std::optional<SandboxStatus> from,
                                  std::string_view actor, std::string_view reason);
// The same appended to `out`: a store writing it on every change reuses one buffer.
void append_transition_event_data(std::string& out, const Sandbox& row, std::optional<SandboxStatus> from,
                                  std::string_view actor, std::string_view reason);

// The payload a reader gets: {"id", "type", "time" (ISO-8601 UTC), "data"}. `data_json` is
// written as it is (it is a JSON object the broker built).
std::string event_payload(std::int64_t id, std::string_view type, UnixSeconds at, std::string_view data_json);

// 2026-01-31T12:00:00Z
std::string iso8601_utc(UnixSeconds at);
void append_iso8601_utc(std::string& out, UnixSeconds at);

// Settings and hooks of one store's outbox, set by the process after opening the store (the
// wiring finds it beside the store's other sides) and read by the store where it records a
// transition.
class OutboxControl {
  public:
    virtual ~OutboxControl() = default;

    // EVENTS_ENABLED: off, no outbox rows are written (the history is unchanged).
    void set_events_enabled(bool enabled) { enabled_.store(enabled, std::memory_order_relaxed); }
    bool events_enabled() const { return enabled_.load(std::memory_order_relaxed); }

    // Told the type of every event this process writes (broker_events_written_total). Set
    // before the store is used.
    void set_written_observer(std::function<void(std::string_view type)> observer) {
        written_ = std::move(observer);
    }

    // For tests: every change fails right after writing its event, inside its transaction,
    // as a crash or a lost connection at that point would.
    void set_fail_after_event(bool fail) { fail_.store(fail, std::memory_order_relaxed); }
    bool fail_after_event() const { return fail_.load(std::memory_order_relaxed); }

    // Called by the store after writing an event into the change's transaction.
    void event_written(std::string_view type) const {
        if (fail_after_event())
            throw std::runtime_error("injected failure after the outbox event was written");
        if (written_) written_(type);
    }

  private:
    std::atomic<bool> enabled_{true};
    std::atomic<bool> fail_{false};
    std::function<void(std::string_view)> written_;
};

}  // namespace broker
