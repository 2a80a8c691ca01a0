// A small pool of read-only connections. WAL lets each read its own snapshot while the
// writer commits, so reads never queue behind writes; they only wait for a free connection.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

class ReaderPool {
  public:
    ReaderPool(std::string path, std::size_t size, int busy_timeout_ms);

    // A connection for the caller alone until the lease goes out of scope.
    class Lease {
      public:
        Lease(ReaderPool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
        Lease(Lease&&) = default;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (conn_) pool_->give_back(std::move(conn_));
        }
        Connection& operator*() const { return *conn_; }
        Connection* operator->() const { return conn_.get(); }

      private:
        ReaderPool* pool_;
        std::unique_ptr<Connection> conn_;
    };

    // Opens connections lazily, up to the pool size; throws StoreUnavailable if opening fails.
    Lease acquire();

  private:
    void give_back(std::unique_ptr<Connection> conn);

    const std::string path_;
    const std::size_t size_;
    const int busy_timeout_ms_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t opened_ = 0;
};

}  // namespace broker::sqlite
