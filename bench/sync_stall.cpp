// How long allocations wait while a sync of 200 000 sandboxes writes to the SQLite store. The
// sync runs as the sync job does (the list in parts of 10 000 through sync_part, then
// finish_sync): unchunked (bulk_chunk_rows = 0, each part and the stale marking one
// transaction) against chunks of 2 000 and 1 000 rows (the default) taking turns with the
// allocation batches. Runs the modes interleaved, each on a fresh store:
//   build/bench/sync_stall [runs=3] [threads=16]
// Per run: allocation latency p50 / p99 / max while no sync runs, then of the allocations that
// overlapped the sync, how many those were, and the sync's duration.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "jobs/sync_job.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace broker;
using Steady = std::chrono::steady_clock;

constexpr int kPool = 200'000;

struct Sample {
    Steady::time_point started;
    Steady::time_point ended;
    double ms;
};

struct Figures {
    double p50 = 0, p99 = 0, max = 0;
    std::size_t count = 0;
};

Figures figures(std::vector<double> ms) {
    Figures f;
    f.count = ms.size();
    if (ms.empty()) return f;
    std::sort(ms.begin(), ms.end());
    const auto at = [&](double q) {
        return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * ms.size()))];
    };
    f.p50 = at(0.50);
    f.p99 = at(0.99);
    f.max = ms.back();
    return f;
}

std::vector<ProviderSandbox> provider_list(const std::string& name_suffix) {
    std::vector<ProviderSandbox> list;
    list.reserve(kPool);
    for (int i = 0; i < kPool; ++i) {
        const std::string id = std::to_string(10'000'000 + i);
        list.push_back({id, "bench-" + id + name_suffix, "identity/accounts/" + id, ""});
    }
    return list;
}

struct RunFigures {
    Figures quiet, during;
    double sync_ms = 0;
};

RunFigures run_once(std::size_t chunk_rows, int threads) {
    std::string pattern = (std::filesystem::temp_directory_path() / "broker-stall-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    const std::filesystem::path dir = pattern;
    RunFigures out;
    {
        SqliteStore store(SqliteOptions{.path = (dir / "bench.db").string(), .bulk_chunk_rows = chunk_rows});
        store.migrate();
        SystemClock clock;
        store.upsert_provider_sandboxes(provider_list(""), clock.now());
        // The next sync renames every sandbox: 200 000 rows really change.
        const auto renamed = provider_list("-r");

        std::atomic<bool> stop{false};
        std::atomic<std::int64_t> next{0};
        std::mutex mutex;
        std::vector<Sample> samples;
        std::vector<std::thread> allocators;
        for (int t = 0; t < threads; ++t) {
            allocators.emplace_back([&] {
                std::vector<Sample> mine;
                while (!stop) {
                    AllocateRequest request;
                    request.participant_id = "p-" + std::to_string(next++);
                    request.idempotency_key = request.participant_id;
                    request.now = clock.now();
                    const auto started = Steady::now();
                    store.allocate(request);
                    const auto ended = Steady::now();
                    mine.push_back(
                        {started, ended, std::chrono::duration<double, std::milli>(ended - started).count()});
                }
                std::lock_guard lock(mutex);
                samples.insert(samples.end(), mine.begin(), mine.end());
            });
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm up
        const auto quiet_from = Steady::now();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const auto sync_from = Steady::now();
        UpsertSummary upserted;
        const std::span<const ProviderSandbox> list(renamed);
        constexpr std::int64_t kPass = 1;
        for (std::size_t at = 0; at < list.size(); at += SyncJob::kPartSize) {
            upserted += store.sync_part(list.subspan(at, std::min(SyncJob::kPartSize, list.size() - at)),
                                        kPass, clock.now());
        }
        store.finish_sync(kPass, clock.now());
        const auto sync_to = Steady::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        stop = true;
        for (auto& t : allocators) t.join();
        if (upserted.refreshed + upserted.skipped < kPool / 2) {
            std::fprintf(stderr, "unexpected sync summary: refreshed %lld\n",
                         static_cast<long long>(upserted.refreshed));
        }

        std::vector<double> quiet, during;
        // Quiet: over before the sync began. During: any part of it while the sync ran (an
        // allocation that began just before the sync and waited for all of it counts here).
        for (const auto& s : samples) {
            if (s.started >= quiet_from && s.ended < sync_from) quiet.push_back(s.ms);
            if (s.started < sync_to && s.ended > sync_from) during.push_back(s.ms);
        }
        out.quiet = figures(std::move(quiet));
        out.during = figures(std::move(during));
        out.sync_ms = std::chrono::duration<double, std::milli>(sync_to - sync_from).count();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 3;
    const int threads = argc > 2 ? std::atoi(argv[2]) : 16;
    std::printf("allocation latency (ms) around a sync of %d sandboxes, %d allocating threads\n", kPool,
                threads);
    std::printf("%-22s %3s | %8s %8s %8s | %8s %8s %8s %7s | %8s\n", "mode", "run", "quiet50", "quiet99",
                "quietmax", "sync50", "sync99", "syncmax", "n", "sync_ms");
    for (int run = 1; run <= runs; ++run) {
        for (const std::size_t chunk : {std::size_t{0}, std::size_t{2000}, std::size_t{1000}}) {
            const RunFigures f = run_once(chunk, threads);
            const std::string mode = chunk == 0 ? "unchunked" : "chunks of " + std::to_string(chunk);
            std::printf("%-22s %3d | %8.2f %8.2f %8.2f | %8.2f %8.2f %8.2f %7zu | %8.0f\n", mode.c_str(), run,
                        f.quiet.p50, f.quiet.p99, f.quiet.max, f.during.p50, f.during.p99, f.during.max,
                        f.during.count, f.sync_ms);
            std::fflush(stdout);
        }
    }
    return 0;
}
