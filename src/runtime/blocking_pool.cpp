#include "runtime/blocking_pool.hpp"

#include <stdexcept>

namespace broker {

BlockingPool::BlockingPool(int threads, std::size_t queue_max) : queue_max_(queue_max) {
    if (threads < 1) throw std::invalid_argument("BlockingPool needs at least one thread");
    threads_.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { worker(); });
}

BlockingPool::~BlockingPool() {
    stop();
}

bool BlockingPool::try_submit(std::unique_ptr<Job>& job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= queue_max_) return false;
        queue_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
}

void BlockingPool::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && threads_.empty()) return;
        stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

std::size_t BlockingPool::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void BlockingPool::worker() {
    for (;;) {
        std::unique_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued has run
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        active_.fetch_add(1, std::memory_order_relaxed);
        job->run();
        active_.fetch_sub(1, std::memory_order_relaxed);
    }
}

}  // namespace broker
