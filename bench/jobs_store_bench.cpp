// What the jobs cost in the SQLite store at pool sizes the broker meets: a sync of the
// provider's list as the sync job streams it (its parts, then the stale marking), expiry and
// claim/delete in batches. Each iteration works on a fresh file; durable commits
// (synchronous = FULL) as in production.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "jobs/sync_job.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace broker;

constexpr UnixSeconds kNow = 1'700'000'000;

std::string temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "jobs-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

std::vector<ProviderSandbox> provider_list(int n) {
    std::vector<ProviderSandbox> list;
    for (int i = 0; i < n; ++i) {
        const std::string id = std::to_string(1'000'000 + i);
        list.push_back({id, "sbx-" + id, "identity/accounts/uuid-" + id, ""});
    }
    return list;
}

// One sync pass as the sync job runs it: the list in the job's parts, then finish_sync.
void sync(SqliteStore& store, std::span<const ProviderSandbox> listed, std::int64_t pass, UnixSeconds now) {
    constexpr std::size_t kPart = SyncJob::kPartSize;
    for (std::size_t at = 0; at < listed.size(); at += kPart) {
        store.sync_part(listed.subspan(at, std::min(kPart, listed.size() - at)), pass, now);
    }
    benchmark::DoNotOptimize(store.finish_sync(pass, now));
}

// A second sync of an unchanged list with 1% vanished: the steady state every interval.
void BM_Sync(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    const auto full = provider_list(n);
    const std::vector<ProviderSandbox> most(full.begin(), full.end() - n / 100);
    for (auto _ : state) {
        state.PauseTiming();
        const std::string dir = temp_dir();
        {
            SqliteStore store(SqliteOptions{.path = dir + "/b.db"});
            store.migrate();
            sync(store, full, 1, kNow);
            state.ResumeTiming();
            sync(store, most, 2, kNow + 600);
            state.PauseTiming();
        }
        std::filesystem::remove_all(dir);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Sync)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Expire 1000 allocations in batches of 100, then claim and record them deleted in batches of 10.
void BM_ExpireClaimDelete(benchmark::State& state) {
    constexpr int kHeld = 1000;
    LeasePolicy lease;
    for (auto _ : state) {
        state.PauseTiming();
        const std::string dir = temp_dir();
        {
            SqliteStore store(SqliteOptions{.path = dir + "/b.db"});
            store.migrate();
            store.upsert_provider_sandboxes(provider_list(kHeld * 10), kNow);
            for (int i = 0; i < kHeld; ++i) {
                AllocateRequest r;
                r.participant_id = r.idempotency_key = "p" + std::to_string(i);
                r.now = kNow;
                r.lease = lease;
                store.allocate(r);
            }
            const UnixSeconds later = kNow + 7 * 86400;
            state.ResumeTiming();
            while (store.expire_allocations(later, lease, 100).size() == 100) {
            }
            for (;;) {
                const auto batch = store.claim_for_deletion({"w", later, later + 300, 10});
                if (batch.empty()) break;
                for (const auto& s : batch) store.record_deleted(s.sandbox_id, "cleanup", later);
            }
            state.PauseTiming();
        }
        std::filesystem::remove_all(dir);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * kHeld);
}
BENCHMARK(BM_ExpireClaimDelete)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
