// Micro-benchmarks of the edge's hot paths: counter and histogram updates (1 and 2
// threads, sharded against a single shared atomic), label resolution, the rate limiter for
// one hot key and for many distinct keys, a full scrape, and one JSON log line.
#include <benchmark/benchmark.h>
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "http/rate_limiter.hpp"
#include "obs/broker_metrics.hpp"
#include "obs/json_log.hpp"
#include "obs/metrics.hpp"

namespace {

using namespace broker;

MetricsRegistry& registry() {
    static MetricsRegistry r;
    return r;
}

void BM_CounterInc(benchmark::State& state) {
    static Counter counter = registry().counter("bench_counter_total", "x");
    for (auto _ : state) counter.inc();
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

// What an unsharded counter would cost: one atomic every thread writes.
void BM_SingleAtomicInc(benchmark::State& state) {
    static std::atomic<std::uint64_t> value{0};
    for (auto _ : state) value.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_SingleAtomicInc)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
    static Histogram histogram = registry().histogram("bench_latency_seconds", "x");
    double v = 0.0001;
    for (auto _ : state) {
        histogram.observe(v);
        v = v < 20 ? v * 1.7 : 0.0001;
    }
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

// The request path when the HTTP layer does not cache handles: resolve, then observe.
void BM_RequestLatencyWithLabels(benchmark::State& state) {
    static HistogramFamily& family =
        registry().histogram_family("bench_request_seconds", "x", {"method", "endpoint", "status"});
    for (auto _ : state) family.with_labels({"POST", "/v1/allocate", "201"}).observe(0.003);
}
BENCHMARK(BM_RequestLatencyWithLabels)->Threads(1)->Threads(2);

void BM_RateLimiterHotKey(benchmark::State& state) {
    static SystemClock clock;
    // Huge rate so the key is never refused: measures the bookkeeping, not the 429 path.
    static RateLimiter limiter(clock, {.rps = 1e12, .burst = 1e12});
    for (auto _ : state) benchmark::DoNotOptimize(limiter.check("participant:hot"));
}
BENCHMARK(BM_RateLimiterHotKey)->Threads(1)->Threads(2);

void BM_RateLimiterDistinctKeys(benchmark::State& state) {
    static SystemClock clock;
    static RateLimiter limiter(clock, {});
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (int i = 0; i < 100'000; ++i) k.push_back("participant:lab-" + std::to_string(i * 7919));
        return k;
    }();
    std::size_t i = static_cast<std::size_t>(state.thread_index()) * 50'000;
    for (auto _ : state) {
        benchmark::DoNotOptimize(limiter.check(keys[i]));
        if (++i == keys.size()) i = 0;
    }
}
BENCHMARK(BM_RateLimiterDistinctKeys)->Threads(1)->Threads(2);

void BM_ScrapeBrokerMetrics(benchmark::State& state) {
    MetricsRegistry r;
    ManualClock clock;
    BrokerMetrics m(r, clock, {.pool_counts = [] { return StatusCounts{}; }});
    for (const char* endpoint :
         {"/v1/allocate", "/v1/sandboxes/{id}", "/v1/sandboxes/{id}/mark-for-deletion"}) {
        for (int status : {200, 201, 403, 404, 409, 429}) {
            m.api()->observe_request("POST", endpoint, status, std::chrono::milliseconds(3));
        }
    }
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto text = r.render();
        bytes = text.size();
        benchmark::DoNotOptimize(text);
    }
    state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ScrapeBrokerMetrics);

// Formats every line (as a stdout sink would) and throws it away.
class DiscardSink final : public spdlog::sinks::base_sink<std::mutex> {
  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        benchmark::DoNotOptimize(buf.data());
    }
    void flush_() override {}
};

void BM_LogEventJson(benchmark::State& state) {
    auto logger = std::make_shared<spdlog::logger>("bench", std::make_shared<DiscardSink>());
    logger->set_formatter(make_log_formatter(LogFormat::json, {"some-api-token-value", "admin-token-value"}));
    for (auto _ : state) {
        log_event(*logger, spdlog::level::info, "broker.http", "POST /v1/allocate",
                  {.request_id = "6f1c2a9e-0d4b-4c1e-9a77-3f0d2b8c1e55",
                   .track_id = "participant-123",
                   .sandbox_id = "2009521",
                   .action = "allocate",
                   .outcome = "success",
                   .latency_ms = 3.25});
    }
}
BENCHMARK(BM_LogEventJson);

}  // namespace

BENCHMARK_MAIN();
