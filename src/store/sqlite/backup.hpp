// Online backup and restore of the embedded store with SQLite's backup API: a backup is a
// consistent snapshot (one read transaction) taken while the store keeps serving, written as
// a single owner-only file; a restore copies one back into a store no process is using.
#pragma once

#include <cstdint>
#include <string>

namespace broker::sqlite {

// What a store file holds: for the operator's summary and for checking that a file is a
// broker store at all.
struct StoreFileSummary {
    int schema_version = 0;
    std::int64_t sandboxes = 0;  // rows of the pool (every status but deleted)
    std::int64_t allocated = 0;
    std::int64_t history_events = 0;
};

// Copies the store at `store_path` into `target`, a new file (an existing one is refused)
// created with mode 0600, without stopping or locking out the process that serves the store.
// Throws ConfigError for a missing store or an existing target, StoreUnavailable otherwise.
StoreFileSummary backup_store(const std::string& store_path, const std::string& target);

// Checks that `file` is a sandbox-broker store this binary can open (SQLite, a known schema
// version, the broker's tables, intact pages); throws ConfigError saying what it is not.
StoreFileSummary inspect_store_file(const std::string& file);

// Replaces the content of the store at `store_path` with the backup `from` (checked with
// inspect_store_file first). Refuses (StoreUnavailable) while another process holds the
// store's lock; the store's directory must exist unless `create_dir`.
StoreFileSummary restore_store(const std::string& from, const std::string& store_path, bool create_dir);

}  // namespace broker::sqlite
