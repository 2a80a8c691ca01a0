// Unit tests of store URL parsing (BROKER_STORE / --store).
#include "store/store_url.hpp"

#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace broker {
namespace {

TEST(StoreUrl, SqliteForms) {
    auto relative = parse_store_url("sqlite:data/broker.db");
    EXPECT_EQ(relative.kind, StoreUrl::Kind::sqlite);
    EXPECT_EQ(relative.target, "data/broker.db");

    EXPECT_EQ(parse_store_url("sqlite:/var/lib/broker.db").target, "/var/lib/broker.db");
    EXPECT_EQ(parse_store_url("sqlite://data/broker.db").target, "data/broker.db");
    EXPECT_EQ(parse_store_url("sqlite:///var/lib/broker.db").target, "/var/lib/broker.db");
    EXPECT_EQ(parse_store_url("sqlite:broker.db").target, "broker.db");
    EXPECT_EQ(parse_store_url("SQLite:x.db").kind, StoreUrl::Kind::sqlite);
}

TEST(StoreUrl, PostgresFormsKeepTheWholeUrl) {
    for (const std::string url : {"postgresql://u:p@db:5432/broker", "postgres://u@localhost/broker",
                                  "postgresql:///broker?host=/run/postgresql"}) {
        auto parsed = parse_store_url(url);
        EXPECT_EQ(parsed.kind, StoreUrl::Kind::postgresql) << url;
        EXPECT_EQ(parsed.target, url);
    }
}

TEST(StoreUrl, AnythingElseIsAConfigErrorNamingTheAcceptedForms) {
    for (const std::string url : {"", "mysql://x", "sqlite:", "sqlite://", "data/broker.db",
                                  "sqlite::memory:", "postgresq://x", "file:broker.db"}) {
        try {
            parse_store_url(url);
            ADD_FAILURE() << "accepted " << url;
        } catch (const ConfigError& e) {
            const std::string message = e.what();
            EXPECT_NE(message.find("sqlite:PATH"), std::string::npos) << message;
            EXPECT_NE(message.find("postgresql://"), std::string::npos) << message;
            EXPECT_NE(message.find("\"" + url + "\""), std::string::npos) << message;
        }
    }
}

}  // namespace
}  // namespace broker

namespace broker {
namespace {

TEST(StoreUrl, RedactionHidesPasswordsAndKeepsTheRest) {
    EXPECT_EQ(redact_store_url("postgresql://broker:s3cret@db:5432/app"), "postgresql://broker:***@db:5432/app");
    EXPECT_EQ(redact_store_url("postgres://broker@db/app?sslmode=require&password=s3cret"),
              "postgres://broker@db/app?sslmode=require&password=***");
    EXPECT_EQ(redact_store_url("postgresql://broker@db/app"), "postgresql://broker@db/app");
    EXPECT_EQ(redact_store_url("sqlite:data/broker.db"), "sqlite:data/broker.db");
}

TEST(StoreUrl, ErrorsNeverRepeatAPassword) {
    try {
        parse_store_url("mysql://root:hunter2@db/app");
        ADD_FAILURE() << "accepted a mysql URL";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
}

// The passwords redact_store_url hides, for the log's masking of secrets (a driver's message
// may quote the URL it was given).
TEST(StoreUrl, PasswordsAreTheSpansRedactionHides) {
    EXPECT_EQ(store_url_passwords("postgresql://broker:s3cret@db:5432/app"), std::vector<std::string>{"s3cret"});
    EXPECT_EQ(store_url_passwords("postgres://u:one@db/app?sslmode=require&password=two&x=1"),
              (std::vector<std::string>{"one", "two"}));
    EXPECT_EQ(redact_store_url("postgres://u:one@db/app?sslmode=require&password=two&x=1"),
              "postgres://u:***@db/app?sslmode=require&password=***&x=1");
    EXPECT_TRUE(store_url_passwords("postgresql://broker@db/app").empty());
    EXPECT_TRUE(store_url_passwords("sqlite:data/broker.db").empty());
}

TEST(StoreUrl, SqliteCreatesADirectoryOnlyWhenAsked) {
    EXPECT_FALSE(parse_store_url("sqlite:data/broker.db").create_dir);
    const auto asked = parse_store_url("sqlite:data/broker.db?create_dir=true");
    EXPECT_TRUE(asked.create_dir);
    EXPECT_EQ(asked.target, "data/broker.db");
    EXPECT_TRUE(parse_store_url("sqlite:///var/lib/b.db?create_dir=1").create_dir);
    EXPECT_EQ(parse_store_url("sqlite:///var/lib/b.db?create_dir=1").target, "/var/lib/b.db");
    EXPECT_FALSE(parse_store_url("sqlite:b.db?create_dir=false").create_dir);
    try {
        parse_store_url("sqlite:b.db?mode=ro");
        ADD_FAILURE() << "an unknown parameter was accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("create_dir"), std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_store_url("sqlite:?create_dir=true"), ConfigError);
}

}  // namespace
}  // namespace broker

namespace broker {
namespace {

TEST(StoreUrl, DynamoDbNamesTableRegionAndEndpoint) {
    const auto full =
        parse_store_url("dynamodb://SandboxPool?region=eu-west-1&endpoint=http://127.0.0.1:4567");
    EXPECT_EQ(full.kind, StoreUrl::Kind::dynamodb);
    EXPECT_EQ(full.target, "SandboxPool");
    EXPECT_EQ(full.region, "eu-west-1");
    EXPECT_EQ(full.endpoint, "http://127.0.0.1:4567");
    const auto escaped = parse_store_url("dynamodb://t.b-1?endpoint=https%3A%2F%2Fddb.example");
    EXPECT_EQ(escaped.target, "t.b-1");
    EXPECT_EQ(escaped.endpoint, "https://ddb.example");
    EXPECT_EQ(escaped.region, "");
    // No table: the settings (DDB_TABLE_NAME, else SandboxPool) name it.
    EXPECT_EQ(parse_store_url("dynamodb://").target, "");
    EXPECT_EQ(parse_store_url("dynamodb:Pool").target, "Pool");
    for (const std::string url :
         {"dynamodb://a", "dynamodb://bad/name", "dynamodb://t?regoin=x", "dynamodb://tab?endpoint=ftp://x",
          "dynamodb://tab?region=", "dynamodb://tab?endpoint=%zz"}) {
        EXPECT_THROW(parse_store_url(url), ConfigError) << url;
    }
}

}  // namespace
}  // namespace broker
