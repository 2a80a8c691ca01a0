// Per-test schemas on the test PostgreSQL server: see postgres_harness.hpp.
#include "postgres_harness.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>

namespace broker::testing {
namespace {

std::string unique_schema_name() {
    static std::atomic<int> counter{0};
    return "conformance_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

class PostgresHarness final : public StoreHarness {
  public:
    explicit PostgresHarness(const std::string& url) : schema_(url) { open(); }
    ~PostgresHarness() override { store_ = {}; }  // connections close before the schema goes
    const StoreHandle& handle() override { return store_; }
    void reopen() override {
        store_ = {};
        open();
    }
    void record_schema(int version, int compatible_from) override {
        store_ = {};
        schema_.exec(
            "INSERT INTO schema_migrations (version) SELECT v FROM generate_series("
            "(SELECT max(version) + 1 FROM schema_migrations), " +
            std::to_string(version) + ") AS v");
        schema_.exec("UPDATE schema_compat SET compatible_from = " + std::to_string(compatible_from));
        open();
    }

  private:
    void open() { store_ = StoreHandle(std::make_unique<PostgresStore>(schema_.options())); }

    PostgresSchema schema_;
    StoreHandle store_;
};

}  // namespace

PostgresSchema::PostgresSchema(std::string url) : url_(std::move(url)), name_(unique_schema_name()) {
    pqxx::connection conn(url_);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(name_) + " CASCADE");
    tx.exec("CREATE SCHEMA " + tx.quote_name(name_));
}

PostgresSchema::~PostgresSchema() {
    try {
        pqxx::connection conn(url_);
        pqxx::nontransaction tx(conn);
        tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(name_) + " CASCADE");
    } catch (const std::exception&) {
        // A server that went away takes the schema with it (the cluster is thrown away).
    }
}

PostgresOptions PostgresSchema::options() const {
    PostgresOptions options;
    options.url = url_;
    options.schema = name_;
    return options;
}

void PostgresSchema::exec(const std::string& sql) const {
    pqxx::connection conn(url_);
    pqxx::nontransaction tx(conn);
    tx.exec("SET search_path TO " + tx.quote_name(name_));
    tx.exec(sql);
}

std::unique_ptr<StoreHarness> make_postgres_harness(const std::string& url) {
    return std::make_unique<PostgresHarness>(url);
}

std::string test_postgres_url() {
    const char* url = std::getenv("BROKER_TEST_POSTGRES_URL");
    return url ? url : "";
}

}  // namespace broker::testing
