// What every background job is to the scheduler and the admin API: a name and a run_once()
// that does one run now and reports what happened (counts, errors, duration). A run never
// throws: a failing store or provider is reported in the result.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace broker {

inline constexpr std::string_view kSyncJobName = "sync";
inline constexpr std::string_view kCleanupJobName = "cleanup";
inline constexpr std::string_view kAutoExpiryJobName = "auto_expiry";
inline constexpr std::string_view kAutoDeleteStaleJobName = "auto_delete_stale";

struct JobRunResult {
    static constexpr std::size_t kMaxErrors = 20;

    std::string job;
    bool ok = true;              // false: the run failed as a whole (store or provider down)
    bool stopped_early = false;  // shutdown, or the provider's circuit opened
    std::string stop_reason;
    std::map<std::string, std::int64_t> counts;  // what the run did, by name ("deleted": 3)
    std::vector<std::string> errors;             // the first kMaxErrors problems, readable
    std::int64_t errors_dropped = 0;             // problems beyond those
    UnixSeconds started_at = 0;
    std::chrono::duration<double, std::milli> duration{0};  // to the microsecond, not rounded

    void add(std::string_view key, std::int64_t n = 1) { counts[std::string(key)] += n; }
    // The count under `key`, zero when nothing was counted there.
    std::int64_t count(std::string_view key) const;
    void add_error(std::string message);
    // The summary the admin API answers with and the job-state row keeps as last_result.
    nlohmann::json to_json() const;
};

class Job {
  public:
    virtual ~Job() = default;
    virtual std::string_view name() const = 0;
    // Runs the job once, now, whatever its schedule (the caller holds its lease, or is an
    // operator asking to run it). Blocks until done; never throws.
    virtual JobRunResult run_once() = 0;
};

// Runs `body` as one run of job `name`: times it with `clock`, turns an exception into a
// failed result, and logs the outcome (logger "broker.jobs.<name>").
JobRunResult run_job_body(std::string_view name, const Clock& clock,
                          const std::function<void(JobRunResult&)>& body);

}  // namespace broker
