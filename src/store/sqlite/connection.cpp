// SQLite connection wrapper: see connection.hpp.
#include "store/sqlite/connection.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "core/errors.hpp"

namespace broker::sqlite {
namespace {

// Once per process, before the first connection: SQLite's memory statistics (which nothing
// here reads) put a global mutex and counter updates around every allocation, shared by the
// writer and all readers; switching them off took about a tenth of the instructions of an
// allocation's writes. Fails harmlessly (SQLITE_MISUSE) if SQLite was already initialised.
void configure_sqlite_once() {
    static const bool configured = [] {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        return true;
    }();
    (void)configured;
}

}  // namespace

Query::~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

Query& Query::bind(int index, std::string_view text) {
    // SQLITE_TRANSIENT: SQLite copies the bytes, so the caller's string may go away.
    conn_->check(
        sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
        "bind");
    return *this;
}

Query& Query::bind_view(int index, std::string_view text) {
    conn_->check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC),
                 "bind");
    return *this;
}

Query& Query::bind(int index, std::int64_t value) {
    conn_->check(sqlite3_bind_int64(stmt_, index, value), "bind");
    return *this;
}

Query& Query::bind(int index, std::optional<std::int64_t> value) {
    if (value) return bind(index, *value);
    return bind_null(index);
}

Query& Query::bind_null(int index) {
    conn_->check(sqlite3_bind_null(stmt_, index), "bind");
    return *this;
}

bool Query::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    conn_->check(rc, sqlite3_sql(stmt_));
    return false;
}

void Query::run() {
    while (step()) {
    }
}

std::string Query::text(int column) const {
    const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (!bytes) return {};
    return std::string(bytes, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t Query::integer(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

std::optional<std::int64_t> Query::optional_integer(int column) const {
    if (is_null(column)) return std::nullopt;
    return integer(column);
}

bool Query::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void Query::expect_columns(std::span<const std::string_view> names) const {
    for (const void* checked : prepared_->checked_columns) {
        if (checked == names.data()) return;
    }
    const int count = sqlite3_column_count(stmt_);
    bool same = count >= static_cast<int>(names.size());
    for (std::size_t i = 0; same && i < names.size(); ++i) {
        same = names[i] == sqlite3_column_name(stmt_, static_cast<int>(i));
    }
    if (!same) {
        std::string got;
        for (int i = 0; i < count; ++i) got += std::string(i ? ", " : "") + sqlite3_column_name(stmt_, i);
        std::string wanted;
        for (auto name : names) wanted += std::string(wanted.empty() ? "" : ", ") + std::string(name);
        throw std::logic_error("SQLite statement returns (" + got + "), its reader reads (" + wanted +
                               ") first: " + std::string(sqlite3_sql(stmt_)).substr(0, 200));
    }
    prepared_->checked_columns.push_back(names.data());
}

void PreparedStatement::Deleter::operator()(sqlite3_stmt* stmt) const {
    sqlite3_finalize(stmt);
}

Connection::Connection(const std::string& path, Mode mode, int busy_timeout_ms) : path_(path) {
    configure_sqlite_once();
    // NOMUTEX: each connection is confined to one thread at a time by its owner, so SQLite's
    // per-connection mutex would only cost time.
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE;
    if (mode == Mode::read_write) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw StoreUnavailable("cannot open SQLite database " + path + ": " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    check(sqlite3_busy_timeout(db_, busy_timeout_ms), "busy_timeout");
    // Readers share the file with the writer (WAL needs write access to the -shm index), so
    // read-only is enforced per connection instead of by the open flags.
    if (mode == Mode::read_only) exec("PRAGMA query_only = ON");
}

Connection::~Connection() {
    by_address_.clear();
    statements_.clear();  // finalize before close, or close would fail with SQLITE_BUSY
    sqlite3_close(db_);
}

Query Connection::query(std::string_view sql) {
    // Every statement of an allocation is asked for by its text (hundreds of bytes each), so
    // hashing the text on every call cost more than running some of the statements. The
    // address finds the entry; the text is still compared (a short memcmp), so another text
    // at an address once used is never taken for the statement that was there.
    if (const auto hit = by_address_.find(sql.data());
        hit != by_address_.end() && hit->second->first == sql) {
        return Query(*this, hit->second->second);
    }
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        sqlite3_stmt* stmt = nullptr;
        const char* tail = nullptr;
        const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(stmt);
            check(rc, sql);
        }
        // A second statement would be silently ignored: the text must be exactly one.
        const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
        if (!stmt || rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
            sqlite3_finalize(stmt);
            throw std::logic_error("SQLite query is not exactly one statement: " +
                                   std::string(sql.substr(0, 200)));
        }
        PreparedStatement prepared;
        prepared.stmt.reset(stmt);
        it = statements_.emplace(std::string(sql), std::move(prepared)).first;
    }
    // A text built at run time comes from a new address each time: the index by address is a
    // cache, emptied when it outgrows the statements, so it stays bounded by them.
    if (by_address_.size() > 2 * statements_.size() + 64) by_address_.clear();
    by_address_[sql.data()] = &*it;
    return Query(*this, it->second);
}

void Connection::exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string message = error ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        throw StoreUnavailable("SQLite " + path_ + ": " + message + " (in: " + sql.substr(0, 80) + ")");
    }
}

std::int64_t Connection::changes() const {
    return sqlite3_changes64(db_);
}

bool Connection::in_transaction() const {
    return sqlite3_get_autocommit(db_) == 0;
}

void Connection::check(int rc, std::string_view what) const {
    const int primary = rc & 0xff;
    if (primary == SQLITE_OK || primary == SQLITE_ROW || primary == SQLITE_DONE) return;
    std::string message = "SQLite " + path_ + ": " + sqlite3_errstr(rc);
    if (const char* detail = sqlite3_errmsg(db_); detail && sqlite3_extended_errcode(db_) == rc) {
        message += std::string(" (") + detail + ")";
    }
    message += " in: " + std::string(what.substr(0, 80));
    throw StoreUnavailable(message);
}

}  // namespace broker::sqlite
