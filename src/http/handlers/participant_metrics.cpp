#include "http/handlers/participant_metrics.hpp"

namespace broker {

ParticipantMetrics::ParticipantMetrics(ApiMetrics& metrics)
    : metrics_(&metrics),
      marked_success_(metrics.deletion_marked_total.with_labels({"success"})),
      marked_idempotent_(metrics.deletion_marked_total.with_labels({"idempotent"})),
      marked_not_owner_(metrics.deletion_marked_total.with_labels({"not_owner"})),
      marked_expired_(metrics.deletion_marked_total.with_labels({"expired"})),
      marked_not_found_(metrics.deletion_marked_total.with_labels({"not_found"})),
      marked_error_(metrics.deletion_marked_total.with_labels({"error"})),
      extended_(metrics.lease_extensions_total.with_labels({"extended"})),
      extension_capped_(metrics.lease_extensions_total.with_labels({"capped"})),
      extension_limit_(metrics.lease_extensions_total.with_labels({"limit"})),
      extension_not_allocated_(metrics.lease_extensions_total.with_labels({"not_allocated"})),
      extension_not_owner_(metrics.lease_extensions_total.with_labels({"not_owner"})),
      extension_not_found_(metrics.lease_extensions_total.with_labels({"not_found"})),
      extension_invalid_(metrics.lease_extensions_total.with_labels({"invalid"})),
      extension_error_(metrics.lease_extensions_total.with_labels({"error"})) {}

std::string_view ParticipantMetrics::allocation(AllocateOutcome outcome,
                                                std::chrono::steady_clock::duration latency, int conflicts) {
    if (metrics_ && conflicts > 0) metrics_->allocate_conflicts.inc(static_cast<std::uint64_t>(conflicts));
    switch (outcome) {
        case AllocateOutcome::allocated:
            if (metrics_) {
                metrics_->allocate_success.inc();
                metrics_->allocation_latency_success.observe_duration(latency);
            }
            return "success";
        case AllocateOutcome::existing:
            if (metrics_) {
                metrics_->allocate_idempotent.inc();
                metrics_->allocate_idempotent_hits.inc();
                metrics_->allocation_latency_idempotent.observe_duration(latency);
            }
            return "idempotent";
        case AllocateOutcome::pool_empty:
        case AllocateOutcome::reserved_for_others:
            if (metrics_) {
                metrics_->allocate_no_sandboxes.inc();
                metrics_->allocation_latency_no_sandboxes.observe_duration(latency);
            }
            return "no_sandboxes";
        // Not among the original's outcomes: a request refused for what the participant sent
        // or holds counts as an error (not as an empty pool: no pool alert for a typo), and the
        // log line says which.
        case AllocateOutcome::no_prefix_match:
            count_error(latency);
            return "no_prefix_match";
        case AllocateOutcome::expired:
            count_error(latency);
            return "expired";
        case AllocateOutcome::limit_reached:
            count_error(latency);
            return "limit_reached";
        case AllocateOutcome::track_limit_reached:
            count_error(latency);
            return "track_limit_reached";
    }
    return allocation_failed(latency);
}

void ParticipantMetrics::count_error(std::chrono::steady_clock::duration latency) {
    if (metrics_) {
        metrics_->allocate_error.inc();
        metrics_->allocation_latency_error.observe_duration(latency);
    }
}

std::string_view ParticipantMetrics::allocation_failed(std::chrono::steady_clock::duration latency) {
    count_error(latency);
    return "error";
}

std::string_view ParticipantMetrics::mark(MarkOutcome outcome) {
    switch (outcome) {
        case MarkOutcome::marked:
            marked_success_.inc();
            return "success";
        case MarkOutcome::already_marked:
            marked_idempotent_.inc();
            return "idempotent";
        case MarkOutcome::not_owner:
            marked_not_owner_.inc();
            return "not_owner";
        case MarkOutcome::expired:
            marked_expired_.inc();
            return "expired";
        case MarkOutcome::not_found:
            marked_not_found_.inc();
            return "not_found";
    }
    return mark_failed();
}

std::string_view ParticipantMetrics::mark_failed() {
    marked_error_.inc();
    return "error";
}

std::string_view ParticipantMetrics::extension(ExtendOutcome outcome) {
    switch (outcome) {
        case ExtendOutcome::extended:
            extended_.inc();
            return "extended";
        case ExtendOutcome::capped:
            extension_capped_.inc();
            return "capped";
        case ExtendOutcome::limit_reached:
            extension_limit_.inc();
            return "limit";
        case ExtendOutcome::not_allocated:
            extension_not_allocated_.inc();
            return "not_allocated";
        case ExtendOutcome::not_owner:
            extension_not_owner_.inc();
            return "not_owner";
        case ExtendOutcome::not_found:
            extension_not_found_.inc();
            return "not_found";
    }
    return extension_failed();
}

std::string_view ParticipantMetrics::extension_invalid() {
    extension_invalid_.inc();
    return "invalid";
}

std::string_view ParticipantMetrics::extension_failed() {
    extension_error_.inc();
    return "error";
}

}  // namespace broker
