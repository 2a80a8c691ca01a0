// Wire and log names of the provider outcomes, and the streamed list of a provider that only lists whole.
#include "provider/provider.hpp"

#include <algorithm>
#include <iterator>

namespace broker {

ListSummary Provider::stream_sandboxes(std::size_t part_size, const ListPartSink& sink) {
    ListResult list = list_sandboxes();
    ListSummary summary{list.sandboxes.size(), list.ignored, std::move(list.failure), list.attempts};
    if (!summary.ok()) {
        summary.listed = 0;
        summary.ignored = 0;
        return summary;
    }
    const std::size_t step = std::max<std::size_t>(part_size, 1);
    for (std::size_t at = 0; at < list.sandboxes.size(); at += step) {
        const auto end = std::min(list.sandboxes.size(), at + step);
        sink(std::vector<ProviderSandbox>(std::make_move_iterator(list.sandboxes.begin() + at),
                                          std::make_move_iterator(list.sandboxes.begin() + end)));
    }
    return summary;
}

std::string_view to_string(ProviderFailureKind kind) {
    switch (kind) {
        case ProviderFailureKind::unavailable:
            return "unavailable";
        case ProviderFailureKind::circuit_open:
            return "circuit_open";
        case ProviderFailureKind::rate_limited:
            return "rate_limited";
        case ProviderFailureKind::bad_response:
            return "bad_response";
    }
    return "unknown";
}

std::string_view to_string(DeleteStatus status) {
    switch (status) {
        case DeleteStatus::deleted:
            return "deleted";
        case DeleteStatus::already_gone:
            return "already_gone";
        case DeleteStatus::failed:
            return "failed";
    }
    return "unknown";
}

std::string_view to_string(CleanupOutcome outcome) {
    switch (outcome) {
        case CleanupOutcome::skipped:
            return "skipped";
        case CleanupOutcome::shadow:
            return "shadow";
        case CleanupOutcome::cleaned:
            return "cleaned";
        case CleanupOutcome::failed:
            return "failed";
    }
    return "unknown";
}

}  // namespace broker
