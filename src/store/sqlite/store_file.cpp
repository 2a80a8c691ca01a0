// The embedded store's files: see store_file.hpp.
#include "store/sqlite/store_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/errors.hpp"

namespace broker::sqlite {
namespace {

constexpr mode_t kOwnerOnly = 0600;

std::string os_error() {
    return std::strerror(errno);
}

std::string read_holder(int fd) {
    char buf[32] = {};
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    std::string text = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

}  // namespace

void prepare_database_file(const std::string& path, bool create_dir) {
    const std::filesystem::path file(path);
    const std::filesystem::path dir =
        file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        if (!create_dir) {
            throw ConfigError("the directory " + dir.string() + " of the SQLite store " + path +
                              " does not exist: create it, or add ?create_dir=true to the store URL");
        }
        std::filesystem::create_directories(dir, ec);
        if (ec) throw StoreUnavailable("cannot create directory " + dir.string() + ": " + ec.message());
    }
    // Created here rather than by SQLite so that it is owner-only from its first byte; SQLite
    // gives the -wal and -shm files the mode of the database file.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kOwnerOnly);
    if (fd < 0) throw StoreUnavailable("cannot create SQLite database " + path + ": " + os_error());
    // A file of an older version may be readable by others: owner-only from now on, with the
    // -wal and -shm files it already has.
    struct stat st {};
    if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) ::fchmod(fd, kOwnerOnly);
    ::close(fd);
    for (const char* suffix : {"-wal", "-shm"}) {
        const std::string companion = path + suffix;
        if (::stat(companion.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
            ::chmod(companion.c_str(), kOwnerOnly);
    }
}

std::string lock_file_path(const std::string& path) {
    return path + "-lock";
}

StoreLock::StoreLock(const std::string& database_path) {
    const std::string lock_path = lock_file_path(database_path);
    fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kOwnerOnly);
    if (fd_ < 0) throw StoreUnavailable("cannot open the store's lock file " + lock_path + ": " + os_error());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        const std::string holder = read_holder(fd_);
        ::close(fd_);
        fd_ = -1;
        if (error == EWOULDBLOCK) {
            throw StoreUnavailable("the SQLite store " + database_path + " is in use by another process" +
                                   (holder.empty() ? std::string() : " (pid " + holder + ")") +
                                   ": the embedded store serves one process; stop it first, or use a "
                                   "PostgreSQL store for several processes");
        }
        throw StoreUnavailable("cannot lock " + lock_path + ": " + std::strerror(error));
    }
    // Informational only: the lock is the flock, not the file's content.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
        [[maybe_unused]] const ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
    }
}

StoreLock::~StoreLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace broker::sqlite
