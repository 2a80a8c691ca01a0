// The run result and the common frame of a job run: timing, exceptions, one log line.
#include "jobs/job.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <exception>

#include "obs/json_log.hpp"

namespace broker {

std::int64_t JobRunResult::count(std::string_view key) const {
    const auto it = counts.find(std::string(key));
    return it == counts.end() ? 0 : it->second;
}

void JobRunResult::add_error(std::string message) {
    // A provider outage fails every sandbox of a batch alike: keep the result (and the
    // job-state row holding it) small.
    if (errors.size() < kMaxErrors) {
        errors.push_back(std::move(message));
    } else {
        ++errors_dropped;
    }
}

nlohmann::json JobRunResult::to_json() const {
    nlohmann::json j = {{"job", job},
                        {"ok", ok},
                        {"started_at", started_at},
                        {"duration_ms", std::round(duration.count() * 1000) / 1000},
                        {"counts", counts},
                        {"errors", errors}};
    if (errors_dropped > 0) j["errors_dropped"] = errors_dropped;
    if (stopped_early) {
        j["stopped_early"] = true;
        j["stop_reason"] = stop_reason;
    }
    return j;
}

JobRunResult Job::run_once() {
    RunControl defaults;
    return run(defaults);
}

JobRunResult run_job_body(std::string_view name, const Clock& clock,
                          const std::function<void(JobRunResult&)>& body) {
    JobRunResult result;
    result.job = std::string(name);
    result.started_at = clock.now();
    const auto started = clock.steady_now();
    try {
        body(result);
    } catch (const std::exception& e) {
        result.ok = false;
        result.add_error(std::string("run failed: ") + e.what());
    }
    result.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock.steady_now() - started);

    LogFields fields;
    fields.action = result.job;
    fields.outcome = result.ok ? "success" : "error";
    fields.latency_ms = result.duration.count();
    if (!result.errors.empty()) fields.error = result.errors.front();
    // Counts as numbers, so a filter such as `{ $.deleted > 0 }` matches.
    for (const auto& [key, value] : result.counts) fields.extra.emplace_back(key, value);
    if (result.stopped_early) fields.extra.emplace_back("stopped_early", result.stop_reason);
    // A run that found nothing to do (every few seconds for cleanup) is not news.
    bool idle = result.ok && result.errors.empty() && !result.stopped_early;
    for (const auto& [key, value] : result.counts) idle = idle && value == 0;
    const auto level = !result.ok ? spdlog::level::warn : idle ? spdlog::level::debug : spdlog::level::info;
    log_event(level, "broker.jobs." + result.job, "job run finished", fields);
    return result;
}

}  // namespace broker
