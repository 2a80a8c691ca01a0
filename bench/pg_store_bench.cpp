// Allocations per second through PostgresStore: T threads, each a stream of new participants
// allocating from a 200k pool, every allocation a durable single-row SKIP LOCKED commit. For
// each thread count, RUNS runs (the pool reset and vacuumed between them) and their median.
//   pg_store_bench [--url URL] [--threads 1,16,64] [--runs 3] [--seconds 3] [--pool 200000]
//                  [--connections N]   (pool size; default: one per thread)
// URL defaults to BROKER_TEST_POSTGRES_URL (scripts/pg-test-cluster.sh start prints one). The
// work happens in a schema of its own, dropped at the end. Exits non-zero on any error or
// any sandbox handed out twice.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/postgres_store.hpp"

namespace {

using namespace broker;
using Steady = std::chrono::steady_clock;

struct Args {
    std::string url;
    std::vector<int> threads = {1, 16, 64};
    int runs = 3;
    double seconds = 3;
    int pool = 200'000;
    int connections = 0;
};

struct RunResult {
    double per_sec = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    long allocated = 0;
    long errors = 0;
    bool distinct = true;
};

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

double median(std::vector<double> v) {
    return percentile(v, 0.5);
}

void reset_pool(const std::string& url, const std::string& schema) {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec("SET search_path TO " + tx.quote_name(schema));
    tx.exec(
        "UPDATE sandboxes SET status = 'available', allocated_to_track = '', track_name = '', "
        "idempotency_key = '', allocated_at = NULL, expires_at = NULL, version = 1 WHERE status <> "
        "'available'");
    tx.exec("TRUNCATE sandbox_events");
    tx.exec("VACUUM (ANALYZE) sandboxes");
    tx.exec("CHECKPOINT");
}

RunResult run_once(PostgresStore& store, int threads, double seconds, int run) {
    std::atomic<bool> stop{false};
    std::atomic<long> errors{0};
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
    std::vector<std::vector<std::string>> ids(static_cast<std::size_t>(threads));
    const auto start = Steady::now();
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                AllocateRequest r;
                r.now = 1'700'000'000;
                for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                    r.participant_id =
                        "r" + std::to_string(run) + "-t" + std::to_string(t) + "-" + std::to_string(i);
                    r.idempotency_key = r.participant_id;
                    const auto t0 = Steady::now();
                    try {
                        auto result = store.allocate(r);
                        if (result.outcome != AllocateOutcome::allocated) {
                            ++errors;
                            continue;
                        }
                        ids[static_cast<std::size_t>(t)].push_back(result.sandbox->sandbox_id);
                    } catch (const std::exception& e) {
                        if (errors++ == 0) std::fprintf(stderr, "allocate failed: %s\n", e.what());
                        continue;
                    }
                    latencies[static_cast<std::size_t>(t)].push_back(
                        std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
                }
            });
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        stop = true;
    }
    const double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
    RunResult result;
    std::vector<double> all;
    std::set<std::string> distinct;
    for (std::size_t t = 0; t < latencies.size(); ++t) {
        all.insert(all.end(), latencies[t].begin(), latencies[t].end());
        distinct.insert(ids[t].begin(), ids[t].end());
    }
    result.allocated = static_cast<long>(all.size());
    result.distinct = distinct.size() == all.size();
    result.errors = errors;
    result.per_sec = static_cast<double>(all.size()) / elapsed;
    result.p50_ms = percentile(all, 0.5);
    result.p99_ms = percentile(all, 0.99);
    return result;
}

std::vector<int> parse_list(const std::string& text) {
    std::vector<int> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    if (const char* url = std::getenv("BROKER_TEST_POSTGRES_URL")) args.url = url;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--url")
            args.url = value;
        else if (flag == "--threads")
            args.threads = parse_list(value);
        else if (flag == "--runs")
            args.runs = std::stoi(value);
        else if (flag == "--seconds")
            args.seconds = std::stod(value);
        else if (flag == "--pool")
            args.pool = std::stoi(value);
        else if (flag == "--connections")
            args.connections = std::stoi(value);
        else {
            std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    if (args.url.empty()) {
        std::fprintf(stderr, "no database: pass --url or set BROKER_TEST_POSTGRES_URL\n");
        return 2;
    }

    const std::string schema = "bench_" + std::to_string(::getpid());
    {
        pqxx::connection conn(args.url);
        pqxx::nontransaction tx(conn);
        tx.exec("CREATE SCHEMA " + tx.quote_name(schema));
    }
    bool ok = true;
    try {
        PostgresOptions setup_options{.url = args.url, .schema = schema};
        {
            PostgresStore store(setup_options);
            store.migrate();
            std::vector<ProviderSandbox> list;
            for (int i = 0; i < args.pool; ++i) {
                const std::string n = std::to_string(10'000'000 + i);
                list.push_back({n, "sandbox-" + n, "identity/accounts/" + n, ""});
            }
            const auto t0 = Steady::now();
            store.upsert_provider_sandboxes(list, 1'700'000'000 - 60);
            std::printf("pool of %d sandboxes imported in %.1f s\n", args.pool,
                        std::chrono::duration<double>(Steady::now() - t0).count());
        }
        std::printf("%-8s %-6s %-5s %12s %10s %10s %10s\n", "threads", "conns", "run", "allocs/s", "p50 ms",
                    "p99 ms", "errors");
        for (int threads : args.threads) {
            std::vector<double> rates, p50s, p99s;
            const int connections = args.connections > 0 ? args.connections : threads;
            for (int run = 1; run <= args.runs; ++run) {
                reset_pool(args.url, schema);
                PostgresOptions options{.url = args.url, .schema = schema};
                options.pool_size = static_cast<std::size_t>(connections);
                options.pool_wait_ms = 30'000;
                PostgresStore store(options);
                const auto r = run_once(store, threads, args.seconds, run);
                std::printf("%-8d %-6d %-5d %12.0f %10.2f %10.2f %10ld%s\n", threads, connections, run,
                            r.per_sec, r.p50_ms, r.p99_ms, r.errors, r.distinct ? "" : "  DUPLICATES");
                std::fflush(stdout);
                ok = ok && r.distinct && r.errors == 0;
                rates.push_back(r.per_sec);
                p50s.push_back(r.p50_ms);
                p99s.push_back(r.p99_ms);
            }
            std::printf("%-8d %-6d %-5s %12.0f %10.2f %10.2f\n", threads, connections, "median",
                        median(rates), median(p50s), median(p99s));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "benchmark failed: %s\n", e.what());
        ok = false;
    }
    {
        pqxx::connection conn(args.url);
        pqxx::nontransaction tx(conn);
        tx.exec("DROP SCHEMA " + tx.quote_name(schema) + " CASCADE");
    }
    std::printf("%s\n", ok ? "ok: every allocation distinct, no errors" : "FAILED");
    return ok ? 0 : 1;
}
