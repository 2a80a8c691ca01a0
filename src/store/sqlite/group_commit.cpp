// Group commit writer: see group_commit.hpp.
#include "store/sqlite/group_commit.hpp"

#include <future>

#include "core/errors.hpp"

namespace broker::sqlite {

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<Connection> conn, std::size_t max_batch,
                                     std::size_t max_queue)
    : conn_(std::move(conn)),
      max_batch_(max_batch == 0 ? 1 : max_batch),
      max_queue_(max_queue == 0 ? 1 : max_queue),
      thread_([this] { loop(); }) {}

GroupCommitWriter::~GroupCommitWriter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void GroupCommitWriter::run(const Work& work, Kind kind) {
    // The promise is shared with the callback: the writer may still be inside set_value when
    // this thread, woken, returns.
    auto promise = std::make_shared<std::promise<void>>();
    auto done = promise->get_future();
    submit([&work](Connection& conn) { work(conn); },
           [promise](std::exception_ptr error) {
               if (error) {
                   promise->set_exception(error);
               } else {
                   promise->set_value();
               }
           },
           kind);
    done.get();
}

void GroupCommitWriter::submit(Work work, Done done, Kind kind) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw StoreUnavailable("SQLite store is shutting down");
        // Bulk writers are a few jobs and admin calls, each waiting for its chunk: no bound.
        auto& queue = kind == Kind::bulk ? bulk_queue_ : queue_;
        if (kind == Kind::small && queue_.size() >= max_queue_) {
            throw Overloaded("SQLite write queue is full (" + std::to_string(max_queue_) + " writes)",
                             std::chrono::seconds(1));
        }
        queue.push_back(Job{std::move(work), std::move(done), nullptr});
    }
    wake_.notify_one();
}

WriterStats GroupCommitWriter::stats() const {
    WriterStats s;
    s.batches = batches_.load();
    s.ops = ops_.load();
    s.largest_batch = largest_batch_.load();
    std::lock_guard lock(mutex_);
    s.queued = queue_.size() + bulk_queue_.size();
    s.in_batch = in_batch_;
    return s;
}

void GroupCommitWriter::loop() {
    std::vector<Job> batch;
    batch.reserve(max_batch_);
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !bulk_queue_.empty(); });
            // Stopping, and everything queued has been answered.
            if (queue_.empty() && bulk_queue_.empty()) return;
            if (!bulk_queue_.empty() && (queue_.empty() || !last_was_bulk_)) {
                batch.push_back(std::move(bulk_queue_.front()));
                bulk_queue_.pop_front();
                last_was_bulk_ = true;
            } else {
                while (!queue_.empty() && batch.size() < max_batch_) {
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
                last_was_bulk_ = false;
            }
            in_batch_ = batch.size();
        }
        run_batch(batch);
        {
            std::lock_guard lock(mutex_);
            in_batch_ = 0;
        }
        // Only now, with the transaction committed (or abandoned), are the callers answered.
        for (auto& job : batch) job.done(job.error);
        batch.clear();
    }
}

void GroupCommitWriter::run_batch(std::vector<Job>& batch) {
    try {
        conn_->query("BEGIN IMMEDIATE").run();
        if (!run_without_savepoints(batch)) {
            // An op threw, perhaps halfway through its writes, and without a savepoint of its
            // own it cannot be undone alone: undo the whole transaction and run the others
            // again, each in a savepoint this time. The failed op keeps its error and is not
            // run again. Rare, so the common path pays for no savepoint at all.
            rollback();
            conn_->query("BEGIN IMMEDIATE").run();
            for (auto& job : batch) {
                if (!job.error) run_in_savepoint(job);
            }
        }
        conn_->query("COMMIT").run();
    } catch (const std::exception& e) {
        // The transaction as a whole failed (the write lock not obtained, an I/O error, a
        // failed COMMIT): nothing of the batch is durable, so nobody may be told otherwise.
        try {
            rollback();
        } catch (const std::exception&) {
            // The connection may be unusable; the next batch's BEGIN will report it.
        }
        const auto error = std::make_exception_ptr(StoreUnavailable(e.what()));
        for (auto& job : batch) job.error = error;
        return;
    }
    batches_.fetch_add(1);
    ops_.fetch_add(batch.size());
    std::size_t largest = largest_batch_.load();
    while (batch.size() > largest && !largest_batch_.compare_exchange_weak(largest, batch.size())) {
    }
}

bool GroupCommitWriter::run_without_savepoints(std::vector<Job>& batch) {
    for (auto& job : batch) {
        try {
            job.work(*conn_);
        } catch (...) {
            job.error = std::current_exception();
            return false;
        }
    }
    return true;
}

void GroupCommitWriter::run_in_savepoint(Job& job) {
    conn_->query("SAVEPOINT op").run();
    try {
        job.work(*conn_);
    } catch (...) {
        job.error = std::current_exception();
        // Undo this write only; if even that fails the whole batch is abandoned (thrown on).
        conn_->query("ROLLBACK TO op").run();
    }
    conn_->query("RELEASE op").run();
}

void GroupCommitWriter::rollback() {
    // SQLite may have rolled back on its own (some I/O and memory errors do).
    if (conn_->in_transaction()) conn_->exec("ROLLBACK");
}

}  // namespace broker::sqlite
