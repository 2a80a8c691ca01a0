// A bounded pool of threads for work that blocks (store round trips, fsyncs), so the I/O
// threads never wait. The queue is bounded too: when it is full, submitting fails at once
// and the caller answers 503 instead of letting latency grow without bound.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace broker {

class BlockingPool {
  public:
    // One unit of work. run() must not throw: jobs carry their own failures to their callers.
    class Job {
      public:
        virtual ~Job() = default;
        virtual void run() noexcept = 0;
    };

    // Starts `threads` workers; at most `queue_max` jobs wait beyond those being run.
    BlockingPool(int threads, std::size_t queue_max);
    ~BlockingPool();  // stop()

    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;

    // Queues the job and takes it; returns false and leaves `job` with the caller when the
    // queue is full or the pool is stopping.
    bool try_submit(std::unique_ptr<Job>& job);

    // Convenience for plain callables (which must not throw).
    template <class Fn>
    bool try_submit(Fn&& fn) {
        std::unique_ptr<Job> job = std::make_unique<FnJob<std::decay_t<Fn>>>(std::forward<Fn>(fn));
        return try_submit(job);
    }

    // Refuses new jobs, runs the queued ones to completion, joins the workers. Idempotent.
    void stop();

    std::size_t queued() const;
    // Jobs running right now (broker_blocking_pool_active); one atomic load.
    std::size_t active() const { return active_.load(std::memory_order_relaxed); }
    std::size_t thread_count() const { return threads_.size(); }
    std::size_t queue_max() const { return queue_max_; }

  private:
    template <class Fn>
    struct FnJob final : Job {
        explicit FnJob(Fn f) : fn(std::move(f)) {}
        void run() noexcept override { fn(); }
        Fn fn;
    };

    void worker();

    const std::size_t queue_max_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::unique_ptr<Job>> queue_;
    bool stopping_ = false;
    std::atomic<std::size_t> active_{0};
    std::vector<std::thread> threads_;
};

}  // namespace broker
