// Child processes for the end-to-end tests: posix_spawn with pipes drained by threads, reaping
// through a pidfd so waits are bounded without sleep loops.
#include "e2e/broker_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <system_error>

#include "e2e/hang_bound.hpp"

namespace broker::e2e {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -1;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

TempDir::TempDir() {
    std::random_device random;
    auto base = std::filesystem::temp_directory_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto candidate = base / ("broker-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
        if (std::filesystem::create_directory(candidate)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory under " + base.string());
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

ChildProcess::ChildProcess(const std::vector<std::string>& args, const Environment& env,
                           const std::filesystem::path& cwd) {
    int out_pipe[2];
    int err_pipe[2];
    // CLOEXEC: children spawned by other test threads must not inherit our write ends, or
    // the readers would never see end-of-file.
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno("pipe2");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw_errno("pipe2");

    std::vector<std::string> env_strings;
    for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
    if (!env.contains("PATH")) {
        const char* path = std::getenv("PATH");
        env_strings.push_back(std::string("PATH=") + (path ? path : "/usr/bin:/bin"));
    }
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    int rc = ::posix_spawn(&pid_, args.at(0).c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        throw std::system_error(rc, std::generic_category(), "posix_spawn " + args.at(0));
    }
    out_.fd = out_pipe[0];
    err_.fd = err_pipe[0];
    out_.reader = std::thread([this] { drain(out_); });
    err_.reader = std::thread([this] { drain(err_); });
}

ChildProcess::~ChildProcess() {
    if (!status_) terminate(std::chrono::milliseconds(0));
    join_readers();
}

void ChildProcess::drain(Stream& stream) {
    char buffer[8192];
    for (;;) {
        ssize_t n = ::read(stream.fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(mutex_);
        if (n <= 0) {
            stream.closed = true;
            changed_.notify_all();
            break;
        }
        stream.text.append(buffer, static_cast<std::size_t>(n));
        changed_.notify_all();
    }
    ::close(stream.fd);
}

void ChildProcess::join_readers() {
    if (out_.reader.joinable()) out_.reader.join();
    if (err_.reader.joinable()) err_.reader.join();
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle,
                                                       std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<std::string> line;
    auto found = [&] {
        auto at = out_.text.find(needle);
        if (at == std::string::npos) return false;
        auto end = out_.text.find('\n', at);
        if (end == std::string::npos) return false;
        auto begin = out_.text.rfind('\n', at);
        begin = begin == std::string::npos ? 0 : begin + 1;
        line = out_.text.substr(begin, end - begin);
        return true;
    };
    changed_.wait_for(lock, hang_bound(timeout), [&] { return found() || out_.closed; });
    return line;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    auto deadline = Clock::now() + timeout;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    for (;;) {
        int status = 0;
        pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
        if (reaped == pid_) {
            status_ = decode_status(status);
            break;
        }
        if (reaped < 0 && errno != EINTR) throw_errno("waitpid");
        if (Clock::now() >= deadline) break;
        if (pidfd >= 0) {
            pollfd ready{pidfd, POLLIN, 0};
            ::poll(&ready, 1, remaining_ms(deadline));
        } else {
            // Kernels without pidfd: a short nap, still bounded by the deadline.
            ::usleep(2000);
        }
    }
    if (pidfd >= 0) ::close(pidfd);
    if (status_) join_readers();
    return status_;
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
    if (status_) return *status_;
    ::kill(pid_, SIGTERM);
    if (auto status = wait_exit(grace)) return *status;
    ::kill(pid_, SIGKILL);
    auto status = wait_exit(std::chrono::seconds(10));
    return status.value_or(-SIGKILL);
}

std::string ChildProcess::out() const {
    std::lock_guard lock(mutex_);
    return out_.text;
}

std::string ChildProcess::err() const {
    std::lock_guard lock(mutex_);
    return err_.text;
}

CommandResult run_broker_command(const std::vector<std::string>& args, const Environment& env,
                                 const std::filesystem::path& cwd, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{BROKER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child(argv, env, cwd);
    CommandResult result;
    auto status = child.wait_exit(timeout);
    if (!status) {
        result.timed_out = true;
        status = child.terminate(std::chrono::seconds(2));
    }
    result.exit_code = *status;
    result.out = child.out();
    result.err = child.err();
    return result;
}

namespace {

std::vector<std::string> run_command(const std::string& store_url, const std::vector<std::string>& flags) {
    std::vector<std::string> args{BROKER_BINARY, "run", "--listen", "127.0.0.1:0", "--store", store_url};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
}

}  // namespace

BrokerProcess::BrokerProcess(const std::string& store_url, const Environment& env,
                             const std::filesystem::path& cwd, std::chrono::milliseconds timeout,
                             const std::vector<std::string>& flags)
    : child_(run_command(store_url, flags), env, cwd) {
    static const std::string kPrefix = "listening on http://";
    auto line = child_.wait_for_line(kPrefix, timeout);
    if (!line) {
        auto exited = child_.wait_exit(std::chrono::milliseconds(0));
        int status = child_.terminate(std::chrono::seconds(2));
        throw std::runtime_error(std::string("broker did not report `listening on` ") +
                                 (exited ? "(it exited with status " + std::to_string(status) + ")"
                                         : "within " + std::to_string(timeout.count()) + " ms") +
                                 "\n--- stdout ---\n" + child_.out() + "\n--- stderr ---\n" + child_.err());
    }
    auto address = line->substr(line->find(kPrefix) + kPrefix.size());
    auto colon = address.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("no port in `" + *line + "`");
    host_ = address.substr(0, colon);
    port_ = static_cast<unsigned short>(std::stoi(address.substr(colon + 1)));
}

int BrokerProcess::stop(std::chrono::milliseconds grace) {
    return child_.terminate(grace);
}

}  // namespace broker::e2e
