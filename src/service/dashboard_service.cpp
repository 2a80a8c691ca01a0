// The dashboard's reads: see dashboard_service.hpp.
#include "service/dashboard_service.hpp"

#include <charconv>
#include <cmath>
#include <future>
#include <nlohmann/json.hpp>

#include "core/utf8.hpp"
#include "jobs/job.hpp"
#include "service/cursor.hpp"
#include "service/number_text.hpp"

namespace broker {
namespace {

// A filter as given, or why it is refused.
std::optional<std::string> filter_problem(const char* name, const std::optional<std::string>& value) {
    if (!value) return std::nullopt;
    if (value->size() > DashboardService::kMaxFilterBytes) {
        return std::string(name) + " is longer than " + std::to_string(DashboardService::kMaxFilterBytes) +
               " bytes";
    }
    if (!is_valid_utf8(*value)) return std::string(name) + " is not valid UTF-8";
    return std::nullopt;
}

UnixSeconds floor_to(UnixSeconds t, std::int64_t step) {
    return t - (((t % step) + step) % step);
}

}  // namespace

DashboardService::DashboardService(Store& store, DashboardStore& dashboard, JobStateStore& job_states,
                                   const Clock& clock)
    : store_(store), dashboard_(dashboard), job_states_(job_states), clock_(clock) {}

Checked<StatsQuery> DashboardService::parse_stats_query(const std::optional<std::string>& window_hours,
                                                        const std::optional<std::string>& top) {
    StatsQuery query;
    if (window_hours && !window_hours->empty()) {
        const auto hours = decimal_number(*window_hours);
        if (!hours || *hours <= 0 || *hours > kMaxWindowHours) {
            return Checked<StatsQuery>::refuse(
                ErrorCode::invalid_request, "window_hours must be a number of hours above 0, at most 8784");
        }
        query.window = std::chrono::seconds(std::max<std::int64_t>(1, std::llround(*hours * 3600)));
    }
    if (top && !top->empty()) {
        const auto n = whole_number(*top);
        if (!n || *n < 1 || *n > kMaxTopTracks) {
            return Checked<StatsQuery>::refuse(
                ErrorCode::invalid_request,
                "top must be a whole number from 1 to " + std::to_string(kMaxTopTracks));
        }
        query.top_tracks = static_cast<int>(*n);
    }
    return Checked<StatsQuery>::ok(query);
}

DashboardStats DashboardService::stats(const StatsQuery& query) {
    DashboardStats out;
    out.now = clock_.now();
    out.query = query;
    // The counts by status and the window's aggregates are independent reads over their own
    // indexes: taken on two threads, an answer costs the slower of them rather than their sum.
    auto counts = std::async(std::launch::async, [this] { return store_.count_by_status(); });
    out.rate_window = kRateWindow;
    AllocationWindowQuery window;
    window.now = out.now;
    window.since = out.now - query.window.count();
    window.recent_since = out.now - kRateWindow.count();
    window.top_tracks = query.top_tracks;
    // The rate needs the last 15 minutes even when the window asked is shorter.
    if (window.recent_since < window.since) {
        window.since = window.recent_since;
        out.window = dashboard_.allocation_window(window);
        const AllocationWindowStats recent = out.window;
        window.since = out.now - query.window.count();
        out.window = dashboard_.allocation_window(window);
        out.window.recent = recent.recent;
    } else {
        out.window = dashboard_.allocation_window(window);
    }
    out.backlog = dashboard_.cleanup_backlog(out.now);
    out.niosxaas = last_cleanup_niosxaas();
    out.counts = counts.get();
    out.rate_per_sec = static_cast<double>(out.window.recent) / static_cast<double>(kRateWindow.count());
    if (out.window.recent > 0) {
        out.exhaustion_sec = static_cast<double>(out.counts[SandboxStatus::available]) / out.rate_per_sec;
    }
    return out;
}

NiosxaasCounts DashboardService::last_cleanup_niosxaas() {
    NiosxaasCounts out;
    for (const auto& state : job_states_.job_states()) {
        if (state.job != kCleanupJobName || !state.last_finished_at || state.last_result.empty()) continue;
        const auto result = nlohmann::json::parse(state.last_result, nullptr, /*allow_exceptions=*/false);
        if (!result.is_object() || !result.contains("counts") || !result["counts"].is_object()) continue;
        const auto& counts = result["counts"];
        const auto count = [&](const char* key) {
            return counts.contains(key) && counts[key].is_number_integer() ? counts[key].get<std::int64_t>()
                                                                           : 0;
        };
        out.known = true;
        out.run_finished_at = state.last_finished_at;
        out.cleaned = count("niosxaas_cleaned");
        out.skipped = count("niosxaas_skipped");
        out.failed = count("niosxaas_failed");
        out.shadow = count("niosxaas_shadow");
    }
    return out;
}

Checked<SandboxSearch> DashboardService::parse_search(const std::optional<std::string>& status,
                                                      const std::optional<std::string>& limit,
                                                      const std::optional<std::string>& cursor,
                                                      const std::optional<std::string>& q,
                                                      const std::optional<std::string>& track,
                                                      const std::optional<std::string>& prefix) {
    auto page = AdminService::parse_list_query(status, limit, cursor);
    if (page.refusal) return Checked<SandboxSearch>::refuse(page.refusal->code, page.refusal->message);
    for (const auto& [name, value] :
         {std::pair{"q", &q}, std::pair{"track", &track}, std::pair{"prefix", &prefix}}) {
        if (auto problem = filter_problem(name, *value)) {
            return Checked<SandboxSearch>::refuse(ErrorCode::invalid_request, *problem);
        }
    }
    SandboxSearch search;
    search.page = std::move(*page.value);
    search.q = q.value_or("");
    search.track = track.value_or("");
    search.name_prefix = prefix.value_or("");
    return Checked<SandboxSearch>::ok(std::move(search));
}

ListPage DashboardService::search_page(const SandboxSearch& query) {
    const bool filtered = !query.q.empty() || !query.track.empty() || !query.name_prefix.empty();
    return filtered ? dashboard_.search(query) : store_.list(query.page);
}

AdminPage DashboardService::search(const SandboxSearch& query) {
    ListPage page = search_page(query);
    AdminPage out;
    out.items = std::move(page.items);
    if (page.next_after) out.next_cursor = encode_cursor(*page.next_after);
    return out;
}

Checked<TimeseriesQuery> DashboardService::parse_timeseries(const std::optional<std::string>& from,
                                                            const std::optional<std::string>& to,
                                                            const std::optional<std::string>& step) const {
    TimeseriesQuery query;
    query.to = clock_.now();
    if (to && !to->empty()) {
        const auto n = whole_number(*to);
        if (!n || *n < 0)
            return Checked<TimeseriesQuery>::refuse(ErrorCode::invalid_request, "to must be Unix seconds");
        query.to = *n;
    }
    query.from = query.to - 86400;
    if (from && !from->empty()) {
        const auto n = whole_number(*from);
        if (!n || *n < 0) {
            return Checked<TimeseriesQuery>::refuse(ErrorCode::invalid_request, "from must be Unix seconds");
        }
        query.from = *n;
    }
    if (step && !step->empty()) {
        const auto n = whole_number(*step);
        if (!n || *n < 60 || *n > 86400 || *n % 60 != 0) {
            return Checked<TimeseriesQuery>::refuse(
                ErrorCode::invalid_request,
                "step must be a whole number of seconds, a multiple of 60 "
                "from 60 to 86400");
        }
        query.step = *n;
    }
    if (query.from > query.to) {
        return Checked<TimeseriesQuery>::refuse(ErrorCode::invalid_request, "from must not be after to");
    }
    if (query.to - query.from > kMaxTimeseriesSpan) {
        return Checked<TimeseriesQuery>::refuse(ErrorCode::invalid_request,
                                                "from and to may be 31 days apart at most");
    }
    if ((query.to - query.from) / query.step + 1 > kMaxTimeseriesPoints) {
        return Checked<TimeseriesQuery>::refuse(
            ErrorCode::invalid_request,
            "at most " + std::to_string(kMaxTimeseriesPoints) + " points: choose a larger step");
    }
    return Checked<TimeseriesQuery>::ok(query);
}

std::vector<PoolSample> DashboardService::timeseries(const TimeseriesQuery& query) {
    const int most = static_cast<int>((query.to - query.from) / 60 + 2);
    const auto samples = dashboard_.pool_samples(query.from, query.to, most);
    if (query.step == 60) return samples;
    std::vector<PoolSample> out;
    for (const auto& s : samples) {
        const UnixSeconds bucket = floor_to(s.at, query.step);
        if (out.empty() || out.back().at != bucket) {
            out.push_back(s);
            out.back().at = bucket;
            continue;
        }
        const std::int64_t allocations = out.back().allocations + s.allocations;
        out.back().counts = s.counts;  // the pool as the bucket's last sample saw it
        out.back().allocations = allocations;
    }
    return out;
}

Checked<int> DashboardService::parse_failures_limit(const std::optional<std::string>& limit) {
    if (!limit || limit->empty()) return Checked<int>::ok(AdminService::kDefaultLimit);
    const auto n = whole_number(*limit);
    if (!n || *n < 1 || *n > AdminService::kMaxLimit) {
        return Checked<int>::refuse(ErrorCode::invalid_request, "limit must be a whole number from 1 to " +
                                                                    std::to_string(AdminService::kMaxLimit));
    }
    return Checked<int>::ok(static_cast<int>(*n));
}

std::vector<DeletionFailureInfo> DashboardService::deletion_failures(int limit) {
    return dashboard_.deletion_failures(limit);
}

}  // namespace broker
