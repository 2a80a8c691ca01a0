// The embedded store: one SQLite file in WAL mode with durable commits. Writes from
// concurrent callers are queued to one writer thread that runs them in a single
// transaction (group commit), so one fsync serves many allocations; reads use their own
// connections and never wait for the writer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace broker {

struct SqliteOptions {
    std::string path;                  // database file; its directory is created if missing
    std::size_t max_batch = 256;       // writes per transaction at most
    std::size_t max_queue = 16384;     // queued writes at most; beyond it, Overloaded
    int busy_timeout_ms = 5000;        // another process holding the write lock
    std::size_t read_connections = 4;  // reader pool size; readers beyond it wait their turn
};

// What the writer has done so far: for tests and benchmarks (ops / batches = group size).
struct SqliteWriteStats {
    std::uint64_t batches = 0;  // transactions committed
    std::uint64_t ops = 0;      // writes committed in them
    std::size_t largest_batch = 0;
    std::size_t queued = 0;    // writes waiting for a batch right now
    std::size_t in_batch = 0;  // writes in the batch being run right now
};

class SqliteStore final : public Store {
  public:
    // Opens (creating if needed) the database; throws StoreUnavailable when it cannot.
    // Call migrate() before use.
    explicit SqliteStore(SqliteOptions options);
    ~SqliteStore() override;

    void migrate() override;
    AllocateResult allocate(const AllocateRequest& request) override;
    std::optional<Sandbox> get(const std::string& sandbox_id) override;
    MarkResult mark_for_deletion(const MarkForDeletionRequest& request) override;
    UpsertSummary upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                            UnixSeconds now) override;
    StatusCounts count_by_status() override;
    ListPage list(const ListQuery& query) override;
    void ping() override;

    SqliteWriteStats write_stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace broker
