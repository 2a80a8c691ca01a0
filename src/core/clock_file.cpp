// The file-backed test clock: see clock_file.hpp.
#include "core/clock_file.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"

namespace broker {
namespace {

std::optional<std::string> read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

}  // namespace

std::optional<std::int64_t> parse_clock_file_text(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return std::nullopt;
    const auto last = text.find_last_not_of(" \t\r\n");
    const std::string_view digits = text.substr(first, last - first + 1);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size() || value < 0) return std::nullopt;
    return value;
}

FileClock::FileClock(std::filesystem::path path) : path_(std::move(path)) {
    const auto text = read_text(path_);
    if (!text) throw ConfigError("--test-clock: cannot read " + path_.string());
    const auto ms = parse_clock_file_text(*text);
    if (!ms)
        throw ConfigError("--test-clock: " + path_.string() + " does not hold milliseconds since the epoch");
    start_ms_ = *ms;
    last_ms_ = *ms;
}

FileClock::~FileClock() {
    stop_watching();
}

void FileClock::stop_watching() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    if (watcher_.joinable()) watcher_.join();
}

std::int64_t FileClock::current_ms() const {
    if (const auto text = read_text(path_)) {
        if (const auto ms = parse_clock_file_text(*text)) {
            last_ms_ = *ms;
            return *ms;
        }
    }
    return last_ms_.load();
}

std::chrono::steady_clock::time_point FileClock::steady_now() const {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(current_ms() - start_ms_);
}

void FileClock::on_move(std::function<void()> listener) {
    listeners_.push_back(std::move(listener));
}

void FileClock::start_watching() {
    // Read here, not on the new thread: a move made right after this call is one to report.
    const std::int64_t seen = current_ms();
    watcher_ = std::thread([this, seen] { watch(seen); });
}

void FileClock::watch(std::int64_t seen) {
    std::unique_lock lock(mutex_);
    while (!stop_.wait_for(lock, kWatchInterval, [this] { return stopping_; })) {
        lock.unlock();
        const std::int64_t now = current_ms();
        if (now != seen) {
            seen = now;
            for (const auto& listener : listeners_) listener();
        }
        lock.lock();
    }
}

}  // namespace broker
