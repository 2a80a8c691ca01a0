// The embedded store's files on disk: a database file created owner-only (its WAL and shared
// memory files take the same mode), in a directory that must exist unless told to create it,
// and an advisory lock beside it that one process holds for its life, so a second process
// on the same file is refused instead of silently sharing it.
#pragma once

#include <string>

namespace broker::sqlite {

// Makes `path` ready to open: its directory exists (created when `create_dir`, else a
// ConfigError naming the directory and the URL parameter), and the file exists, created with
// mode 0600 when it did not. Throws StoreUnavailable when the file cannot be created.
void prepare_database_file(const std::string& path, bool create_dir);

// The lock file of the database at `path`: `path` + "-lock".
std::string lock_file_path(const std::string& path);

// An exclusive flock(2) on the lock file (created 0600), released when the object is
// destroyed or the process ends (even by SIGKILL: the kernel drops it). Holds the owner's
// pid in the file, for the message another process gets.
class StoreLock {
  public:
    // Throws StoreUnavailable naming the holder when another process holds the lock.
    explicit StoreLock(const std::string& database_path);
    ~StoreLock();
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

  private:
    int fd_ = -1;
};

}  // namespace broker::sqlite
