// The admin operations: see admin_service.hpp.
#include "service/admin_service.hpp"

#include <charconv>
#include <cmath>

#include "jobs/pool_sample_job.hpp"
#include "jobs/stale_job.hpp"
#include "service/cursor.hpp"
#include "service/number_text.hpp"

namespace broker {
namespace {

constexpr std::string_view kAdminActor = "admin";
constexpr double kMaxGraceHours = 24.0 * 366;

std::string status_names() {
    std::string names;
    for (const auto status : kAllStatuses) {
        if (!names.empty()) names += ", ";
        names += to_string(status);
    }
    return names;
}

}  // namespace

std::vector<std::pair<std::string, std::chrono::seconds>> job_intervals(const JobConfig& config) {
    return {
        {std::string(kSyncJobName), config.sync_interval},
        {std::string(kCleanupJobName), config.cleanup_interval},
        {std::string(kAutoExpiryJobName), config.auto_expiry_interval},
        {std::string(kAutoDeleteStaleJobName), config.auto_delete_stale_interval},
        {std::string(kPoolSampleJobName), kPoolSampleInterval},
    };
}

AdminService::AdminService(Store& store, LifecycleStore& lifecycle, JobStateStore& job_states,
                           const Clock& clock, JobConfig config, LocalJobs local)
    : store_(store),
      lifecycle_(lifecycle),
      job_states_(job_states),
      clock_(clock),
      config_(std::move(config)),
      local_(std::move(local)) {}

Checked<ListQuery> AdminService::parse_list_query(const std::optional<std::string>& status,
                                                  const std::optional<std::string>& limit,
                                                  const std::optional<std::string>& cursor) {
    ListQuery query;
    query.limit = kDefaultLimit;
    if (status && !status->empty()) {
        query.status = parse_status(*status);
        if (!query.status) {
            return Checked<ListQuery>::refuse(ErrorCode::invalid_request,
                                              "status must be one of: " + status_names());
        }
    }
    if (limit) {
        const auto n = whole_number(*limit);
        if (!n || *n < 1 || *n > kMaxLimit) {
            return Checked<ListQuery>::refuse(
                ErrorCode::invalid_request,
                "limit must be a whole number from 1 to " + std::to_string(kMaxLimit));
        }
        query.limit = static_cast<int>(*n);
    }
    if (cursor && !cursor->empty()) {
        auto after = decode_cursor(*cursor);
        if (!after) {
            return Checked<ListQuery>::refuse(
                ErrorCode::invalid_request,
                "cursor is not valid: pass the next_cursor of a previous page unchanged");
        }
        query.after_sandbox_id = std::move(*after);
    }
    return Checked<ListQuery>::ok(std::move(query));
}

AdminPage AdminService::list(const ListQuery& query) {
    ListPage page = store_.list(query);
    AdminPage out;
    out.items = std::move(page.items);
    if (page.next_after) out.next_cursor = encode_cursor(*page.next_after);
    return out;
}

std::optional<SandboxDetail> AdminService::sandbox(const std::string& sandbox_id) {
    auto found = store_.get(sandbox_id);
    if (!found) return std::nullopt;
    return SandboxDetail{std::move(*found), lifecycle_.history(sandbox_id)};
}

StatusCounts AdminService::stats() {
    return store_.count_by_status();
}

Checked<SandboxStatus> AdminService::parse_bulk_delete_status(const std::optional<std::string>& status) {
    if (!status || status->empty()) {
        return Checked<SandboxStatus>::refuse(
            ErrorCode::invalid_request, "status is required: which sandboxes to remove (e.g. status=stale)");
    }
    const auto parsed = parse_status(*status);
    if (!parsed) {
        return Checked<SandboxStatus>::refuse(ErrorCode::invalid_request,
                                              "status must be one of: " + status_names());
    }
    if (*parsed == SandboxStatus::allocated) {
        return Checked<SandboxStatus>::refuse(
            ErrorCode::invalid_request,
            "allocated sandboxes cannot be removed in bulk: they are in use by participants");
    }
    return Checked<SandboxStatus>::ok(*parsed);
}

std::int64_t AdminService::bulk_delete(SandboxStatus status) {
    return lifecycle_.bulk_remove(status, clock_.now(), std::string(kAdminActor));
}

Checked<std::chrono::seconds> AdminService::parse_grace_hours(const std::optional<std::string>& hours) const {
    if (!hours || hours->empty()) return Checked<std::chrono::seconds>::ok(config_.stale_grace);
    const auto value = decimal_number(*hours);
    if (!value || *value < 0 || *value > kMaxGraceHours) {
        return Checked<std::chrono::seconds>::refuse(
            ErrorCode::invalid_request, "grace_period_hours must be a number of hours from 0 to 8784");
    }
    return Checked<std::chrono::seconds>::ok(std::chrono::seconds(std::llround(*value * 3600)));
}

JobRunResult AdminService::delete_stale(std::chrono::seconds grace) {
    // Outside the job's lease: removing stale rows is one conditional change per row, so a
    // scheduled run at the same moment removes nothing twice.
    AutoDeleteStaleJob job(lifecycle_, clock_, {grace, config_.history_retention_days});
    return job.run_with_grace(grace);
}

Checked<std::string> AdminService::check_job_name(std::string_view name) {
    for (const auto known :
         {kSyncJobName, kCleanupJobName, kAutoExpiryJobName, kAutoDeleteStaleJobName, kPoolSampleJobName}) {
        if (name == known) return Checked<std::string>::ok(std::string(name));
    }
    return Checked<std::string>::refuse(
        ErrorCode::job_not_found, "no job named '" + std::string(name) +
                                      "'; jobs: sync, cleanup, auto_expiry, auto_delete_stale, pool_sample");
}

std::vector<JobView> AdminService::jobs() {
    const std::vector<JobState> states = job_states_.job_states();
    std::vector<JobView> views;
    for (const auto& [name, interval] : job_intervals(config_)) {
        JobView view;
        view.name = name;
        view.interval = interval;
        view.runs_here = local_job(name) != nullptr;
        view.state.job = name;
        for (const auto& state : states) {
            if (state.job == name) {
                view.state = state;
                view.known_to_store = true;
            }
        }
        views.push_back(std::move(view));
    }
    return views;
}

JobView AdminService::job(const std::string& name) {
    for (auto& view : jobs()) {
        if (view.name == name) return std::move(view);
    }
    throw std::logic_error("job " + name + " is not in the job list");
}

JobView AdminService::set_paused(const std::string& name, bool paused) {
    job_states_.set_job_paused(name, paused, clock_.now());
    wake();
    return job(name);
}

Checked<JobRunReport> AdminService::run(const std::string& name) {
    for (const auto& state : job_states_.job_states()) {
        if (state.job == name && state.paused) {
            // Checked first so a refused request does not stay queued and fire on resume.
            return Checked<JobRunReport>::refuse(ErrorCode::job_paused,
                                                 name + " is paused; resume it before asking for a run");
        }
    }
    if (local_.exclusive_store && local_job(name) == nullptr) {
        return Checked<JobRunReport>::refuse(
            ErrorCode::job_unavailable,
            name + " does not run in this process, and the embedded store admits no worker process" +
                (name == "sync" || name == "cleanup" ? ": set CSP_BASE_URL and CSP_API_TOKEN and restart"
                                                     : ": use `run`, or a PostgreSQL store with workers"));
    }
    const UnixSeconds now = clock_.now();
    const std::int64_t id = job_states_.request_job_run(name, now);
    JobRunReport report;
    report.runs_here = local_job(name) != nullptr;
    if (report.runs_here && local_.start_run) local_.start_run(name);
    wake();
    if (auto recorded = job_states_.job_run(name, id)) {
        report.run = std::move(*recorded);
    } else {  // already forgotten: only a flood of requests does that
        report.run.id = id;
        report.run.job = name;
        report.run.requested_at = now;
    }
    return Checked<JobRunReport>::ok(std::move(report));
}

std::optional<JobRun> AdminService::run_status(const std::string& name, std::int64_t run_id) {
    return job_states_.job_run(name, run_id);
}

Checked<std::chrono::seconds> AdminService::parse_run_wait(const std::optional<std::string>& wait) {
    if (!wait || wait->empty()) return Checked<std::chrono::seconds>::ok(std::chrono::seconds(0));
    const auto n = whole_number(*wait);
    if (!n || *n < 0 || *n > kMaxRunWaitSec) {
        return Checked<std::chrono::seconds>::refuse(
            ErrorCode::invalid_request,
            "wait must be a whole number of seconds from 0 to " + std::to_string(kMaxRunWaitSec));
    }
    return Checked<std::chrono::seconds>::ok(std::chrono::seconds(*n));
}

Checked<std::int64_t> AdminService::parse_run_id(std::string_view text) {
    const auto n = whole_number(text);
    if (!n || *n < 1) {
        return Checked<std::int64_t>::refuse(ErrorCode::invalid_request,
                                             "a run id is the positive whole number a run request answered");
    }
    return Checked<std::int64_t>::ok(*n);
}

Job* AdminService::local_job(std::string_view name) const {
    for (Job* job : local_.jobs) {
        if (job->name() == name) return job;
    }
    return nullptr;
}

void AdminService::wake() const {
    if (local_.wake) local_.wake();
}

}  // namespace broker
