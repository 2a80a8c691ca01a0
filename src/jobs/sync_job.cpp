// The sync job: see sync_job.hpp.
#include "jobs/sync_job.hpp"

#include <limits>
#include <random>

namespace broker {
namespace {

// Thrown by the part sink to end a streamed list early (the run's lease was lost); not a
// std::exception, so nothing between the sink and the job mistakes it for a failure to report.
struct SyncStopped {};

std::int64_t draw_pass() {
    std::random_device device;
    std::uniform_int_distribution<std::int64_t> pick(1, std::numeric_limits<std::int64_t>::max());
    return pick(device);
}

}  // namespace

SyncJob::SyncJob(Provider& provider, LifecycleStore& store, const Clock& clock, JobMetrics* metrics,
                 std::size_t part_size)
    : provider_(provider), store_(store), clock_(clock), metrics_(metrics), part_size_(part_size) {}

JobRunResult SyncJob::run(RunControl& control) {
    auto result = run_job_body(name(), clock_, [&](JobRunResult& r) {
        const std::int64_t pass = draw_pass();
        UpsertSummary upserted;
        std::int64_t received = 0;
        const auto record_upserts = [&] {
            r.add("inserted", upserted.inserted);
            r.add("revived", upserted.revived);
            r.add("refreshed", upserted.refreshed);
            r.add("skipped", upserted.skipped);
        };
        ListSummary list;
        try {
            list = provider_.stream_sandboxes(part_size_, [&](std::vector<ProviderSandbox>&& part) {
                if (!control.keep_going()) throw SyncStopped{};
                upserted += store_.sync_part(part, pass, clock_.now());
                received += static_cast<std::int64_t>(part.size());
                // A large list takes a while: its progress, part by part.
                control.report_progress({{"received", received},
                                         {"inserted", upserted.inserted},
                                         {"revived", upserted.revived},
                                         {"refreshed", upserted.refreshed},
                                         {"skipped", upserted.skipped}});
            });
        } catch (const SyncStopped&) {
            store_.abandon_sync(pass);
            record_upserts();
            r.stopped_early = true;
            r.stop_reason = "lease lost";
            return;
        } catch (...) {
            store_.abandon_sync(pass);
            throw;
        }
        record_upserts();
        if (!list.ok()) {
            // An outage or a list cut off half-way must not look like a smaller provider: what
            // was read is upserted, but nothing is marked stale.
            store_.abandon_sync(pass);
            r.ok = false;
            r.add_error("provider list failed (" + std::string(to_string(list.failure->kind)) +
                        "): " + list.failure->message);
            return;
        }
        r.add("listed", static_cast<std::int64_t>(list.listed));
        r.add("ignored", static_cast<std::int64_t>(list.ignored));
        r.add("marked_stale", store_.finish_sync(pass, clock_.now()));
    });
    if (metrics_) {
        metrics_->sync_total.with_labels({result.ok ? "success" : "error"}).inc();
        metrics_->sync_sandboxes_synced.inc(static_cast<std::uint64_t>(result.count("listed")));
        metrics_->sync_sandboxes_stale.inc(static_cast<std::uint64_t>(result.count("marked_stale")));
        metrics_->sync_duration.observe(std::chrono::duration<double>(result.duration).count());
    }
    return result;
}

}  // namespace broker
