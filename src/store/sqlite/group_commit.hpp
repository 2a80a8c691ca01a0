// Group commit: one thread owns the write connection and runs queued writes in batches, one
// transaction per batch, so a single fsync makes many callers' changes durable. A caller
// blocks until its batch has committed: no answer is given before it is on disk.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
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

    GroupCommitWriter(std::unique_ptr<Connection> conn, std::size_t max_batch, std::size_t max_queue);
    // Runs what is queued, then stops the thread.
    ~GroupCommitWriter();

    // Queues `work` and waits until its batch committed. Throws Overloaded at once when the
    // queue is full, StoreUnavailable when the batch failed, or whatever `work` threw.
    void run(const Work& work);

    WriterStats stats() const;

  private:
    struct Job {
        const Work* work;  // the caller's; valid until `done` is set, as the caller waits for it
        std::promise<void> done;
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
    bool stopping_ = false;
    std::size_t in_batch_ = 0;

    std::atomic<std::uint64_t> batches_{0};
    std::atomic<std::uint64_t> ops_{0};
    std::atomic<std::size_t> largest_batch_{0};

    std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace broker::sqlite
