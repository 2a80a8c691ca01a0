// Store locations as written in BROKER_STORE / --store: `sqlite:PATH` (also
// `sqlite://PATH`, and `?create_dir=true` to create a missing directory), and
// `postgresql://user:pass@host:port/db` (also `postgres://`), and
// `dynamodb://TABLE?region=REGION&endpoint=URL` (each part optional: the settings
// DDB_TABLE_NAME, AWS_REGION, DDB_ENDPOINT_URL fill what it leaves out).
#pragma once

#include <string>
#include <vector>

namespace broker {

struct StoreUrl {
    enum class Kind { sqlite, postgresql, dynamodb };
    Kind kind = Kind::sqlite;
    std::string target;  // the file path for sqlite; the whole URL (libpq form) for postgresql
    // sqlite: create the file's directory when it is missing. Off by default, so a mistyped
    // directory is an error instead of a new, empty store somewhere unexpected.
    bool create_dir = false;
    // dynamodb: `target` is the table (empty: DDB_TABLE_NAME or its default), and the
    // ?region= and ?endpoint= parameters (empty when not given).
    std::string region;
    std::string endpoint;
};

// Throws ConfigError with a message naming the accepted forms.
StoreUrl parse_store_url(const std::string& url);

// The URL with any password (`user:PASSWORD@`, `password=` parameter) replaced by `***`:
// the only form of a store URL that may be logged or shown in an error.
std::string redact_store_url(const std::string& url);

// The passwords the URL carries (what redact_store_url hides), for the log's list of secrets
// to mask wherever they appear (a driver's error message may quote them).
std::vector<std::string> store_url_passwords(const std::string& url);

}  // namespace broker
