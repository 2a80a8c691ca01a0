#include "obs/buffered_sink.hpp"

#include <spdlog/pattern_formatter.h>

namespace broker {
namespace {

// The per-thread line buffer keeps up to this much between lines.
constexpr std::size_t kKeptLineBytes = 64 * 1024;

}  // namespace

BufferedSink::BufferedSink(std::FILE* out, std::chrono::milliseconds interval, std::size_t capacity)
    : out_(out),
      interval_(interval),
      capacity_(capacity),
      formatter_(std::make_shared<spdlog::pattern_formatter>()) {
    buffer_.reserve(capacity_ + 1024);
    flusher_ = std::thread([this] { run_flusher(); });
}

BufferedSink::~BufferedSink() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    flusher_.join();
    std::lock_guard lock(mutex_);
    write_locked();
}

void BufferedSink::log(const spdlog::details::log_msg& msg) {
    std::shared_ptr<spdlog::formatter> formatter;
    {
        std::lock_guard lock(formatter_mutex_);
        formatter = formatter_;
    }
    spdlog::memory_buf_t line;
    formatter->format(msg, line);
    std::lock_guard lock(mutex_);
    buffer_.append(line.data(), line.size());
    if (buffer_.size() >= capacity_ || msg.level >= spdlog::level::warn) write_locked();
}

bool BufferedSink::log_event(spdlog::level::level_enum level, std::string_view logger,
                             std::string_view message, std::string_view members) {
    std::shared_ptr<const EventFormatter> formatter;
    {
        std::lock_guard lock(formatter_mutex_);
        formatter = event_formatter_;
    }
    if (!formatter) return false;
    // Formatted outside the lock, in a buffer each thread reuses line after line.
    thread_local std::string line;
    formatter->format_event(level, spdlog::log_clock::now(), logger, message, members, line);
    {
        std::lock_guard lock(mutex_);
        buffer_.append(line);
        if (buffer_.size() >= capacity_ || level >= spdlog::level::warn) write_locked();
    }
    if (line.capacity() > kKeptLineBytes) std::string().swap(line);  // a huge line: give it back
    return true;
}

void BufferedSink::flush() {
    std::lock_guard lock(mutex_);
    write_locked();
}

void BufferedSink::set_pattern(const std::string& pattern) {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void BufferedSink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) {
    std::shared_ptr<spdlog::formatter> shared = std::move(formatter);
    auto events = std::dynamic_pointer_cast<const EventFormatter>(shared);
    std::lock_guard lock(formatter_mutex_);
    formatter_ = std::move(shared);
    event_formatter_ = std::move(events);
}

void BufferedSink::write_locked() {
    if (buffer_.empty()) return;
    std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
    std::fflush(out_);
    buffer_.clear();
}

void BufferedSink::run_flusher() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, interval_, [this] { return stopping_; });
        write_locked();
    }
}

}  // namespace broker
