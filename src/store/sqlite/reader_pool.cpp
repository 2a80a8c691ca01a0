// Reader connection pool: see reader_pool.hpp.
#include "store/sqlite/reader_pool.hpp"

namespace broker::sqlite {

ReaderPool::ReaderPool(std::string path, std::size_t size, int busy_timeout_ms)
    : path_(std::move(path)), size_(size == 0 ? 1 : size), busy_timeout_ms_(busy_timeout_ms) {}

ReaderPool::Lease ReaderPool::acquire() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || opened_ < size_; });
    if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(conn));
    }
    ++opened_;
    lock.unlock();
    try {
        return Lease(*this,
                     std::make_unique<Connection>(path_, Connection::Mode::read_only, busy_timeout_ms_));
    } catch (...) {
        lock.lock();
        --opened_;
        lock.unlock();
        available_.notify_one();
        throw;
    }
}

void ReaderPool::give_back(std::unique_ptr<Connection> conn) {
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(conn));
    }
    available_.notify_one();
}

}  // namespace broker::sqlite
