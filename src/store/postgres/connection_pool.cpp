// The PostgreSQL connection pool: see connection_pool.hpp.
#include "store/postgres/connection_pool.hpp"

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
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.pool_wait_ms);
    while (idle_.empty() && open_ >= options_.pool_size) {
        if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
            open_ >= options_.pool_size) {
            ++timeouts_;
            throw Overloaded("all " + std::to_string(options_.pool_size) +
                             " PostgreSQL connections are busy");
        }
    }
    if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(conn), true);
    }
    ++open_;  // reserve the slot before opening outside the lock
    lock.unlock();
    try {
        auto conn = open_connection();
        lock.lock();
        ++opened_;
        return Lease(*this, std::move(conn), false);
    } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        --open_;
        freed_.notify_one();
        throw;
    }
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
    std::lock_guard lock(mutex_);
    if (conn->is_open()) {
        idle_.push_back(std::move(conn));
    } else {
        --open_;
        ++discarded_;
    }
    freed_.notify_one();
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
        freed_.notify_all();
    }
    conn.reset();  // closing sockets outside the lock
    dropped.clear();
}

PoolStats ConnectionPool::stats() const {
    std::lock_guard lock(mutex_);
    return {open_, idle_.size(), opened_, discarded_, timeouts_};
}

}  // namespace broker::pg
