// A bounded pool of libpqxx connections. At most `pool_size` connections exist; a caller
// beyond that waits, and a wait longer than `pool_wait_ms` answers Overloaded instead of
// letting latency grow without bound. Waiters are served in their order of arrival: a freed
// connection goes to the longest waiter, never to a caller that came later. Connections are opened lazily,
// set up once (statement timeout, durable commits, search_path, prepared statements) and reused. A connection
// that broke is discarded, and so are the idle ones (after a server restart they are all dead), so the next
// caller gets a fresh one: the pool recovers by itself once the server is back.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "store/postgres/postgres_options.hpp"

namespace broker::pg {

// The libpq connection string for the options (the URL with the connect timeout and the
// application name added unless it sets them).
std::string conninfo_of(const PostgresOptions& options);

struct PoolStats {
    std::size_t open = 0;  // connections that exist (idle or in use)
    std::size_t idle = 0;
    std::uint64_t opened = 0;     // connections opened so far
    std::uint64_t discarded = 0;  // broken connections thrown away so far
    std::uint64_t timeouts = 0;   // waits that ended in Overloaded
    std::size_t waiting = 0;      // callers waiting for a connection right now
};

class ConnectionPool {
  public:
    explicit ConnectionPool(PostgresOptions options);
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;
    ~ConnectionPool();

    // A connection for the caller alone until the lease goes out of scope.
    class Lease {
      public:
        Lease(ConnectionPool& pool, std::unique_ptr<pqxx::connection> conn, bool reused)
            : pool_(&pool), conn_(std::move(conn)), reused_(reused) {}
        Lease(Lease&&) = default;
        Lease& operator=(Lease&&) = delete;
        ~Lease();

        pqxx::connection& operator*() const { return *conn_; }
        pqxx::connection* operator->() const { return conn_.get(); }
        // Whether the connection served an earlier caller (and may have died since).
        bool reused() const { return reused_; }
        // The connection broke: close it instead of giving it back, and drop the idle ones.
        void discard();

      private:
        ConnectionPool* pool_;
        std::unique_ptr<pqxx::connection> conn_;
        bool reused_;
    };

    // Throws Overloaded when no connection frees up in time, StoreUnavailable when a new
    // connection cannot be opened.
    Lease acquire();

    PoolStats stats() const;

  private:
    // A caller waiting its turn. What frees up is handed to the first waiter: a connection,
    // or the right to open one (a slot, counted in open_ already).
    struct Waiter {
        std::condition_variable served;
        std::unique_ptr<pqxx::connection> conn;
        bool slot = false;
    };

    std::unique_ptr<pqxx::connection> open_connection();
    Lease open_in_slot(std::unique_lock<std::mutex>& lock);
    void give_back(std::unique_ptr<pqxx::connection> conn);
    void forget(std::unique_ptr<pqxx::connection> conn);
    // Gives a slot freed by a closed connection to the first waiter (else it is just freed);
    // called with the lock held, after open_ was lowered.
    void pass_slot();

    const PostgresOptions options_;
    const std::string conninfo_;

    mutable std::mutex mutex_;
    std::deque<Waiter*> waiters_;  // in order of arrival
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    std::size_t open_ = 0;  // idle + leased + being opened
    std::uint64_t opened_ = 0;
    std::uint64_t discarded_ = 0;
    std::uint64_t timeouts_ = 0;
};

}  // namespace broker::pg
