// Group commit: one thread owns the write connection and runs queued writes in batches, one
// transaction per batch, so a single fsync makes many callers' changes durable. A caller
// blocks until its batch has committed (run), or is called back on the writer thread once it
// has (submit): no answer is given before it is on disk.
//
// Bulk writes (a chunk of a sync, an import, a bulk removal) queue apart and run alone, one per
// transaction, taking turns with the batches of small writes: a small write waits behind at
// most one bulk chunk, and a failing bulk chunk never makes its neighbours run again.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace broker::sqlite {

using WriterStats = SqliteWriteStats;

class GroupCommitWriter {
  public:
    // A write: runs inside the batch's transaction. May throw; then only its own changes are
    // lost and the exception goes back to its caller. Its neighbours in the batch may be run
    // a second time for that (see run_batch), so a Work must only touch the connection and
    // its own result, which the later run overwrites.
    using Work = std::function<void(Connection&)>;
    // Called on the writer thread once the write's batch committed (no error) or failed. Must
    // be quick and must not throw: it holds up the next batch.
    using Done = std::function<void(std::exception_ptr)>;

    GroupCommitWriter(std::unique_ptr<Connection> conn, std::size_t max_batch, std::size_t max_queue);
    // Runs what is queued, then stops the thread.
    ~GroupCommitWriter();

    enum class Kind {
        small,  // an allocation, a return, a claim: batched with its like
        bulk,   // a bounded chunk of a large write: a transaction of its own
    };

    // Queues `work` and waits until its batch committed. Throws Overloaded at once when the
    // queue of small writes is full, StoreUnavailable when the batch failed, or whatever
    // `work` threw.
    void run(const Work& work, Kind kind = Kind::small);

    // The same without waiting: queues `work` and returns; `done` gets the outcome. Throws
    // Overloaded or StoreUnavailable at once, as run does; then `done` is never called.
    void submit(Work work, Done done, Kind kind = Kind::small);

    WriterStats stats() const;

  private:
    struct Job {
        Work work;
        Done done;
        std::exception_ptr error;
    };

    void loop();
    void run_batch(std::vector<Job>& batch);
    // Runs the jobs in order until one throws (false; its error recorded) or all ran (true).
    bool run_without_savepoints(std::vector<Job>& batch);
    void run_in_savepoint(Job& job);
    void rollback();

    std::unique_ptr<Connection> conn_;
    const std::size_t max_batch_;
    const std::size_t max_queue_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    std::deque<Job> bulk_queue_;
    bool last_was_bulk_ = false;  // turns: after a bulk chunk, queued small writes go first
    bool stopping_ = false;
    std::size_t in_batch_ = 0;

    std::atomic<std::uint64_t> batches_{0};
    std::atomic<std::uint64_t> ops_{0};
    std::atomic<std::size_t> largest_batch_{0};

    std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace broker::sqlite
