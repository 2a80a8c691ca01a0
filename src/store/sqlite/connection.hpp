// A thin RAII layer over one sqlite3 connection: prepared statements cached per connection,
// typed binding and reading, and every SQLite error turned into StoreUnavailable. A
// Connection is used by one thread at a time (the writer thread, or a reader checked out of
// the pool), so it needs no locking of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace broker {
class OutboxControl;
}

namespace broker::sqlite {

class Connection;

// A statement prepared on a connection, with the column lists it was found to start with.
struct PreparedStatement {
    struct Deleter {
        void operator()(sqlite3_stmt* stmt) const;
    };
    std::unique_ptr<sqlite3_stmt, Deleter> stmt;
    std::vector<const void*> checked_columns;  // data() of each list expect_columns accepted
};

// One use of a cached prepared statement. Binds by 1-based index; resets the statement and
// clears its bindings when it goes out of scope, even when a step threw.
class Query {
  public:
    Query(Connection& conn, PreparedStatement& prepared)
        : conn_(&conn), stmt_(prepared.stmt.get()), prepared_(&prepared) {}
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    ~Query();

    Query& bind(int index, std::string_view text);
    // The same without copying the bytes: SQLite reads the caller's text until this Query ends
    // (its destructor resets the statement), so the text must outlive the Query (a request's
    // fields, constants). For the writer's hot statements, where each copy was a malloc/free.
    Query& bind_view(int index, std::string_view text);
    Query& bind(int index, std::int64_t value);
    Query& bind(int index, std::optional<std::int64_t> value);
    Query& bind_null(int index);

    // Advances to the next row: true while there is one, false when done.
    bool step();
    // Runs a statement that returns no rows (or whose rows are not wanted).
    void run();

    std::string text(int column) const;
    std::int64_t integer(int column) const;
    std::optional<std::int64_t> optional_integer(int column) const;
    bool is_null(int column) const;

    // Throws std::logic_error unless the statement's first result columns are named `names`,
    // in that order: a row reader calls it before reading by index. Checked once per
    // prepared statement and list (the list must be a constant: its address is remembered).
    void expect_columns(std::span<const std::string_view> names) const;

  private:
    Connection* conn_;
    sqlite3_stmt* stmt_;
    PreparedStatement* prepared_;
};

class Connection {
  public:
    enum class Mode { read_write, read_only };

    // Opens (creating when read_write) the database file; throws StoreUnavailable.
    Connection(const std::string& path, Mode mode, int busy_timeout_ms);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // The statement for `sql`, prepared on first use and kept for the connection's life.
    // `sql` is always a constant of the program, never built from input.
    Query query(std::string_view sql);

    // Runs one or more statements without caching (pragmas, schema steps).
    void exec(const std::string& sql);

    // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
    std::int64_t changes() const;
    // Whether a transaction is open (false in autocommit mode).
    bool in_transaction() const;

    sqlite3* handle() const { return db_; }

    // The outbox the transitions recorded on this connection write their events to (the
    // store's writer connection); none: no events (readers, tools).
    void set_outbox(const OutboxControl* outbox) { outbox_ = outbox; }
    const OutboxControl* outbox() const { return outbox_; }

    // Throws StoreUnavailable describing `rc` unless it is one of the success codes.
    void check(int rc, std::string_view what) const;

  private:
    // Looks statements up by string_view, so a cache hit allocates nothing.
    struct SqlHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
    };

    sqlite3* db_ = nullptr;
    std::string path_;
    const OutboxControl* outbox_ = nullptr;
    using Statements = std::unordered_map<std::string, PreparedStatement, SqlHash, std::equal_to<>>;
    // Node-based: a Query's pointer to its entry stays valid while others are added.
    Statements statements_;
    // The same entries by the address of the text they were last asked for with: the texts
    // are the program's constants, so a statement is found again without hashing its text.
    std::unordered_map<const char*, Statements::value_type*> by_address_;
};

}  // namespace broker::sqlite
