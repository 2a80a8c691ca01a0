// Micro-benchmark of the SQLite store: durable allocations per second through group commit
// with 1, 16 and 64 concurrent callers, against a pool of 200 000 sandboxes in a temp file.
//   build/bench/store_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// ops_per_commit is how many allocations one transaction (one fsync) carried on average.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace broker;

constexpr std::int64_t kPool = 200'000;

// One store for the whole run; each benchmark run tops the pool up to kPool available.
class BenchStore {
  public:
    BenchStore() {
        std::string pattern = (std::filesystem::temp_directory_path() / "broker-bench-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        store_ = std::make_unique<SqliteStore>(SqliteOptions{.path = (dir_ / "bench.db").string()});
        store_->migrate();
    }
    ~BenchStore() {
        store_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    SqliteStore& store() { return *store_; }

    void top_up() {
        const auto available = store_->count_by_status()[SandboxStatus::available];
        std::vector<ProviderSandbox> more;
        for (auto i = available; i < kPool; ++i) {
            const std::string id = std::to_string(next_id_++);
            more.push_back({id, "bench-" + id, "identity/accounts/" + id, ""});
        }
        if (!more.empty()) store_->upsert_provider_sandboxes(more, clock_.now());
    }

    std::string next_participant() { return "participant-" + std::to_string(next_participant_++); }
    UnixSeconds now() const { return clock_.now(); }

  private:
    std::filesystem::path dir_;
    std::unique_ptr<SqliteStore> store_;
    SystemClock clock_;
    std::int64_t next_id_ = 10'000'000;
    std::atomic<std::int64_t> next_participant_{0};
};

BenchStore& bench_store() {
    static BenchStore instance;
    return instance;
}

SqliteWriteStats stats_at_start;

void BM_Allocate(benchmark::State& state) {
    auto& bench = bench_store();
    if (state.thread_index() == 0) {
        bench.top_up();
        stats_at_start = bench.store().write_stats();
    }
    for (auto _ : state) {
        AllocateRequest request;
        request.participant_id = bench.next_participant();
        request.idempotency_key = request.participant_id;
        request.now = bench.now();
        const auto result = bench.store().allocate(request);
        if (result.outcome != AllocateOutcome::allocated) {
            state.SkipWithError("allocation did not allocate (pool empty?)");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    if (state.thread_index() == 0) {
        const auto end = bench.store().write_stats();
        const auto batches = end.batches - stats_at_start.batches;
        state.counters["ops_per_commit"] =
            batches ? static_cast<double>(end.ops - stats_at_start.ops) / static_cast<double>(batches) : 0.0;
    }
}
BENCHMARK(BM_Allocate)->Threads(1)->Threads(16)->Threads(64)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
