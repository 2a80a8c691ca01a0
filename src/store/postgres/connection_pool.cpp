// The PostgreSQL connection pool: see connection_pool.hpp.
#include "store/postgres/connection_pool.hpp"

#include <algorithm>
#include <chrono>
#include <pqxx/nontransaction>

#include "core/errors.hpp"
#include "store/postgres/pg_sql.hpp"

namespace broker::pg {

// libpq takes either a URI or keyword=value pairs; the store is configured with a URI, so
// the connect timeout and application name are added as URI parameters unless the URL sets
// them itself.
std::string conninfo_of(const PostgresOptions& options) {
    std::string url = options.url;
    const auto add = [&](const std::string& key, const std::string& value) {
        if (value.empty() || url.find(key + "=") != std::string::npos) return;
        url += url.find('?') == std::string::npos ? '?' : '&';
        url += key + "=" + value;
    };
    add("connect_timeout", std::to_string(options.connect_timeout_sec));
    add("application_name", options.application_name);
    return url;
}

ConnectionPool::ConnectionPool(PostgresOptions options)
    : options_(std::move(options)), conninfo_(conninfo_of(options_)) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::~Lease() {
    if (conn_) pool_->give_back(std::move(conn_));
}

void ConnectionPool::Lease::discard() {
    if (conn_) pool_->forget(std::move(conn_));
}

ConnectionPool::Lease ConnectionPool::acquire() {
    std::unique_lock lock(mutex_);
    // Nobody ahead: an idle connection, or room for a new one, is ours at once.
    if (waiters_.empty()) {
        if (!idle_.empty()) {
            auto conn = std::move(idle_.back());
            idle_.pop_back();
            return Lease(*this, std::move(conn), true);
        }
        if (open_ < options_.pool_size) {
            ++open_;  // reserve the slot before opening outside the lock
            return open_in_slot(lock);
        }
    }
    // Else wait in line. A condition variable wakes its waiters in no particular order, and a
    // caller arriving just as a connection frees up could take it first, so under a burst a
    // few callers were passed over again and again until their wait ran out (503s at 200
    // connections while most waits were far shorter than the limit); handing over in order
    // of arrival bounds every wait by the queue ahead of it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.pool_wait_ms);
    Waiter me;
    waiters_.push_back(&me);
    // The line holds our address: out of it however this ends, a wait that throws included
    // (a waiter that was served is already out). The lock is held whenever this runs.
    struct LeaveLine {
        std::deque<Waiter*>& line;
        Waiter* me;
        ~LeaveLine() {
            if (const auto it = std::find(line.begin(), line.end(), me); it != line.end()) line.erase(it);
        }
    } leave{waiters_, &me};
    while (!me.conn && !me.slot) {
        if (me.served.wait_until(lock, deadline) == std::cv_status::timeout && !me.conn && !me.slot) {
            ++timeouts_;
            throw Overloaded("all " + std::to_string(options_.pool_size) +
                             " PostgreSQL connections are busy");
        }
    }
    if (me.conn) return Lease(*this, std::move(me.conn), true);
    return open_in_slot(lock);
}

ConnectionPool::Lease ConnectionPool::open_in_slot(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    try {
        auto conn = open_connection();
        lock.lock();
        ++opened_;
        return Lease(*this, std::move(conn), false);
    } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        --open_;
        pass_slot();
        throw;
    }
}

void ConnectionPool::pass_slot() {
    if (waiters_.empty()) return;
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    ++open_;
    next->slot = true;
    next->served.notify_one();
}

std::unique_ptr<pqxx::connection> ConnectionPool::open_connection() {
    std::unique_ptr<pqxx::connection> conn;
    try {
        conn = std::make_unique<pqxx::connection>(conninfo_);
        // A silently re-opened connection would lose the session settings below; libpqxx 6
        // still reactivates by default (the switch is deprecated, not gone).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
        pqxx::nontransaction setup(*conn);
        setup.exec("SET statement_timeout = " + std::to_string(options_.statement_timeout_ms));
        // Durable commits whatever the server's default: an allocation answered is on disk.
        setup.exec("SET synchronous_commit = on");
        if (!options_.schema.empty()) setup.exec("SET search_path TO " + setup.quote_name(options_.schema));
        setup.commit();
        // The outbox trigger's switches (schema step 8, sql/schema/steps.sql), set through libpqxx so
        // that it remembers them and the store changes them only when they differ.
        conn->set_variable("broker.events", "on");
        conn->set_variable("broker.outbox_fail", "off");
        prepare_statements(*conn);
    } catch (const pqxx::failure& e) {
        throw StoreUnavailable(std::string("cannot open a PostgreSQL connection: ") + e.what());
    }
    return conn;
}

void ConnectionPool::give_back(std::unique_ptr<pqxx::connection> conn) {
    std::unique_ptr<pqxx::connection> closed;
    std::lock_guard lock(mutex_);
    if (!conn->is_open()) {
        --open_;
        ++discarded_;
        pass_slot();
        closed = std::move(conn);
    } else if (!waiters_.empty()) {
        Waiter* next = waiters_.front();
        waiters_.pop_front();
        next->conn = std::move(conn);
        next->served.notify_one();
    } else {
        idle_.push_back(std::move(conn));
    }
}

void ConnectionPool::forget(std::unique_ptr<pqxx::connection> conn) {
    std::vector<std::unique_ptr<pqxx::connection>> dropped;
    {
        std::lock_guard lock(mutex_);
        // After one broken connection the idle ones are suspect too (a restarted server
        // closed them all); dropping them costs a reconnect, keeping them a failed request each.
        dropped.swap(idle_);
        open_ -= dropped.size() + 1;
        discarded_ += dropped.size() + 1;
        for (std::size_t freed = 0; freed < dropped.size() + 1; ++freed) pass_slot();
    }
    conn.reset();  // closing sockets outside the lock
    dropped.clear();
}

PoolStats ConnectionPool::stats() const {
    std::lock_guard lock(mutex_);
    return {open_, idle_.size(), opened_, discarded_, timeouts_, waiters_.size()};
}

}  // namespace broker::pg
