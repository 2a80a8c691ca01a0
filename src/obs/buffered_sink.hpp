// A spdlog sink for one line per request at thousands of requests per second: lines are
// formatted outside any lock, appended to a buffer, and written in batches — when the buffer
// fills, when a line at warning or above arrives (errors show at once), on flush(), and by a
// background thread every `interval` so a quiet process still shows its lines promptly.
// One write(2) serves many lines instead of one per line. Events of obs/json_log are
// formatted here from their parts (log_event), without spdlog's per-message path.
#pragma once

#include <spdlog/sinks/sink.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "obs/json_log.hpp"

namespace broker {

class BufferedSink final : public spdlog::sinks::sink {
  public:
    // Writes to `out` (not owned). The formatter must be safe to call from several threads at
    // once (ours are: they hold no state between lines).
    explicit BufferedSink(std::FILE* out = stdout,
                          std::chrono::milliseconds interval = std::chrono::milliseconds(200),
                          std::size_t capacity = 64 * 1024);
    ~BufferedSink() override;  // stops the flusher, writes what is left

    BufferedSink(const BufferedSink&) = delete;
    BufferedSink& operator=(const BufferedSink&) = delete;

    void log(const spdlog::details::log_msg& msg) override;
    // Formats one event (obs/json_log) with the sink's formatter and appends it like log():
    // no spdlog message, no per-line buffer of its own. False, and nothing written, when the
    // formatter is not an EventFormatter (a pattern set by set_pattern).
    bool log_event(spdlog::level::level_enum level, std::string_view logger, std::string_view message,
                   std::string_view members);
    void flush() override;
    void set_pattern(const std::string& pattern) override;
    void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override;

  private:
    void write_locked();  // mutex_ held
    void run_flusher();

    std::FILE* out_;
    std::chrono::milliseconds interval_;
    std::size_t capacity_;
    std::shared_ptr<spdlog::formatter> formatter_;           // replaced whole; readers keep their copy
    std::shared_ptr<const EventFormatter> event_formatter_;  // the same when it is one, else null
    std::mutex formatter_mutex_;
    std::mutex mutex_;
    std::string buffer_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread flusher_;
};

}  // namespace broker
