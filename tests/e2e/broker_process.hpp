// The real sandbox-broker binary as a child process: one-shot commands (import, bad flags)
// and a running server whose port is read from its "listening on" line. Every wait is
// bounded, so a broker that hangs fails the test instead of hanging the suite.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace broker::e2e {

using Environment = std::map<std::string, std::string>;

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

struct CommandResult {
    int exit_code = -1;  // -1 when killed by a signal (the timeout included)
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Runs `sandbox-broker args...` to completion with exactly `env` (plus PATH), in `cwd`.
// Kills it after `timeout`.
CommandResult run_broker_command(const std::vector<std::string>& args, const Environment& env,
                                 const std::filesystem::path& cwd,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A child process whose stdout and stderr are drained by threads into buffers, so a
// chatty broker never blocks on a full pipe.
class ChildProcess {
  public:
    ChildProcess(const std::vector<std::string>& args, const Environment& env,
                 const std::filesystem::path& cwd);
    ~ChildProcess();  // kills the process if it still runs
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }

    // Waits until stdout holds a complete line containing `needle`; returns that line, or
    // nothing when the deadline (a minute at least) passed or stdout closed first.
    std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);

    // Waits for the exit; nothing when it is still running after `timeout`. Returns the exit
    // code, or -signal when a signal ended it.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

    // SIGTERM, then SIGKILL if it has not exited after `grace`. Returns as wait_exit.
    int terminate(std::chrono::milliseconds grace);

    std::string out() const;
    std::string err() const;

  private:
    struct Stream {
        int fd = -1;
        std::string text;
        bool closed = false;
        std::thread reader;
    };
    void drain(Stream& stream);
    void join_readers();

    pid_t pid_ = -1;
    std::optional<int> status_;  // set once reaped
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    Stream out_;
    Stream err_;
};

// A running `sandbox-broker run` on 127.0.0.1 and a port the kernel chose.
class BrokerProcess {
  public:
    // Starts the server on `store_url`, with `flags` after the usual ones (a TestClock's);
    // throws std::runtime_error (with the broker's stderr) when it does not report
    // "listening on" within `timeout`.
    BrokerProcess(const std::string& store_url, const Environment& env, const std::filesystem::path& cwd,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  const std::vector<std::string>& flags = {});

    const std::string& host() const { return host_; }
    unsigned short port() const { return port_; }
    pid_t pid() const { return child_.pid(); }

    // SIGTERM and wait; SIGKILL after `grace`. Returns the exit code (negative: a signal).
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

    bool running() { return !child_.wait_exit(std::chrono::milliseconds(0)); }
    std::string err() const { return child_.err(); }
    // Everything the broker wrote to stdout so far (its log lines after "listening on").
    std::string out() const { return child_.out(); }
    // Waits until stdout holds a complete line containing `needle` (see ChildProcess).
    std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
        return child_.wait_for_line(needle, timeout);
    }

  private:
    ChildProcess child_;
    std::string host_ = "127.0.0.1";
    unsigned short port_ = 0;
};

}  // namespace broker::e2e
