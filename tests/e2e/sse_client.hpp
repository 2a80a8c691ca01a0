// A blocking reader of a server-sent event stream for tests: one GET over HTTP/1.1 on its own
// connection, the chunked body decoded as it arrives, the events (id, event, data) and comment
// lines parsed from it. Every wait is bounded, so a silent server fails the test instead of
// hanging it. Header-only: the unit tests (a stream served in-process) and the end-to-end
// tests (the real binary) both use it.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "e2e/hang_bound.hpp"
#include "http/asio.hpp"

namespace broker::testing_sse {

struct SseEvent {
    std::string id;
    std::string type;
    std::string data;
};

class SseStream {
  public:
    using HeaderList = std::vector<std::pair<std::string, std::string>>;

    // Connects, sends the GET and reads the answer's head (status and headers).
    SseStream(unsigned short port, const std::string& target, const HeaderList& headers,
              std::chrono::milliseconds timeout = std::chrono::seconds(10))
        : socket_(ioc_) {
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
        std::string request =
            "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
        for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
        request += "\r\n";
        asio::write(socket_, asio::buffer(request));
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (raw_.find("\r\n\r\n") == std::string::npos) {
            if (!read_some(deadline)) throw std::runtime_error("no answer head: " + raw_);
        }
        const auto end = raw_.find("\r\n\r\n");
        head_ = raw_.substr(0, end + 2);
        raw_.erase(0, end + 4);
        status_ = std::stoi(head_.substr(9, 3));
        chunked_ = lower(head_).find("transfer-encoding: chunked") != std::string::npos;
        decode();
    }

    int status() const { return status_; }
    // The head as received, for header checks ("content-type: text/event-stream").
    std::string head_lower() const { return lower(head_); }
    // The body so far (chunk framing removed).
    const std::string& body() const { return body_; }
    // The server ended the body (its last chunk) or closed the connection.
    bool ended() const { return ended_; }

    // Reads until `done()` holds or the stream ends or `timeout` (at least kHangBound) passes;
    // whether done() held.
    bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + e2e::hang_bound(timeout);
        while (!done()) {
            if (ended_ || !read_some(deadline)) return done();
            decode();
        }
        return true;
    }
    bool wait_for_text(const std::string& needle, std::chrono::milliseconds timeout) {
        std::size_t from = 0;  // a long stream is searched once, not again on every read
        return wait_until(
            [&] {
                if (body_.find(needle, from) != std::string::npos) return true;
                from = body_.size() >= needle.size() ? body_.size() - needle.size() : 0;
                return false;
            },
            timeout);
    }
    bool wait_for_events(std::size_t count, std::chrono::milliseconds timeout) {
        return wait_until([&] { return events().size() >= count; }, timeout);
    }
    bool wait_for_end(std::chrono::milliseconds timeout) {
        return wait_until([&] { return ended_; }, timeout);
    }

    // The complete events so far (a block ended by a blank line with a data field).
    std::vector<SseEvent> events() const {
        std::vector<SseEvent> out;
        for (const auto& block : blocks()) {
            SseEvent e;
            bool has_data = false;
            for (const auto& line : block) {
                if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
                if (line.rfind("event: ", 0) == 0) e.type = line.substr(7);
                if (line.rfind("data: ", 0) == 0) {
                    if (has_data) e.data += '\n';
                    e.data.append(line, 6);
                    has_data = true;
                }
            }
            if (has_data) out.push_back(std::move(e));
        }
        return out;
    }
    // Comment lines (": keep-alive") so far.
    std::size_t comments(const std::string& text) const {
        std::string comment = ": ";
        comment += text;
        std::size_t n = 0;
        for (const auto& block : blocks()) {
            for (const auto& line : block) n += line == comment ? 1 : 0;
        }
        return n;
    }

    void close() {
        boost::system::error_code ec;
        socket_.close(ec);
    }

  private:
    static std::string lower(std::string s) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }

    std::vector<std::vector<std::string>> blocks() const {
        std::vector<std::vector<std::string>> out;
        std::vector<std::string> block;
        std::size_t at = 0;
        for (;;) {
            const auto eol = body_.find('\n', at);
            if (eol == std::string::npos) break;  // an unfinished line waits for the rest
            const std::string line = body_.substr(at, eol - at);
            at = eol + 1;
            if (line.empty()) {
                if (!block.empty()) out.push_back(std::move(block));
                block.clear();
            } else {
                block.push_back(line);
            }
        }
        return out;
    }

    // One read of what is there, waiting until the deadline; false on timeout or end.
    bool read_some(std::chrono::steady_clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{socket_.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buffer[16384];
        const auto n = ::recv(socket_.native_handle(), buffer, sizeof buffer, 0);
        if (n <= 0) {
            ended_ = true;
            return false;
        }
        raw_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    void decode() {
        if (!chunked_) {
            body_ += raw_;
            raw_.clear();
            return;
        }
        for (;;) {
            const auto eol = raw_.find("\r\n");
            if (eol == std::string::npos) return;
            const std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
            if (size == 0) {
                ended_ = true;
                raw_.clear();
                return;
            }
            if (raw_.size() < eol + 2 + size + 2) return;
            body_ += raw_.substr(eol + 2, size);
            raw_.erase(0, eol + 2 + size + 2);
        }
    }

    asio::io_context ioc_;
    asio::ip::tcp::socket socket_;
    std::string raw_;
    std::string head_;
    std::string body_;
    int status_ = 0;
    bool chunked_ = false;
    bool ended_ = false;
};

}  // namespace broker::testing_sse
