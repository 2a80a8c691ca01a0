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

// What a run may ask of whoever started it. The worker's answers come from the job's lease,
// renewed by a heartbeat while the run goes on; a run started by hand (tests, the admin API's
// auto-delete-stale) gets the defaults: go on, report to nobody.
class RunControl {
  public:
    virtual ~RunControl() = default;
    // False once the run should stop after the item in hand: its lease was lost, so another
    // worker may already be doing the same work.
    virtual bool keep_going() const { return true; }
    // The run's counts so far, shown as its progress while it runs. Cheap: kept in memory and
    // written by the next heartbeat.
    virtual void report_progress(const std::map<std::string, std::int64_t>& counts) { (void)counts; }
    // A heartbeat now, on the calling thread: after the job took something new under a lease
    // of its own (cleanup's claims), so that it never outlives the job's lease, and a killed
    // worker's claims have run out when its job may be taken over.
    virtual void renew_now() {}
};

class Job {
  public:
    virtual ~Job() = default;
    virtual std::string_view name() const = 0;
    // Runs the job once, now, whatever its schedule (the caller holds its lease, or is an
    // operator asking to run it). Blocks until done; never throws.
    virtual JobRunResult run(RunControl& control) = 0;
    // run() with the defaults of RunControl.
    JobRunResult run_once();
    // Called by the heartbeat of a run in progress (from another thread): renew what the run
    // holds besides the job's lease (cleanup's claims on the sandboxes in hand). Never throws.
    virtual void on_heartbeat() {}
};

// Runs `body` as one run of job `name`: times it with `clock`, turns an exception into a
// failed result, and logs the outcome (logger "broker.jobs.<name>").
JobRunResult run_job_body(std::string_view name, const Clock& clock,
                          const std::function<void(JobRunResult&)>& body);

}  // namespace broker
