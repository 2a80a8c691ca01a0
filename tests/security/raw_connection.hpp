// Raw TCP for the threat tests: bytes the test's HTTP client would refuse to build (two Host
// headers, a forged Transfer-Encoding, CR/LF in a value), and what came back until the broker
// closed the connection. Every wait is bounded.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <iterator>
#include <regex>
#include <string>
#include <thread>

namespace broker::e2e {

struct RawExchange {
    std::string answer;   // every byte the broker sent
    bool closed = false;  // the broker closed the connection within the wait
};

// Sends `bytes` on a fresh connection to host:port and reads until the broker closes it or
// `wait` passes.
inline RawExchange raw_exchange(const std::string& host, unsigned short port, const std::string& bytes,
                                std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address(host), port});
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(bytes), ec);
    RawExchange result;
    socket.non_blocking(true);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        const std::size_t n = socket.read_some(asio::buffer(buf), ec);
        if (ec == asio::error::would_block) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
        }
        if (ec) {
            result.closed = true;  // end of stream or reset
            break;
        }
        result.answer.append(buf, n);
    }
    return result;
}

// How many HTTP answers a byte stream holds (status lines: "HTTP/1.1 NNN "; an error message
// saying "HTTP/1.1 request" is not one).
inline int answer_count(const std::string& answer) {
    static const std::regex kStatusLine(R"(HTTP/1\.[01] \d{3} )");
    return static_cast<int>(std::distance(std::sregex_iterator(answer.begin(), answer.end(), kStatusLine),
                                          std::sregex_iterator()));
}

}  // namespace broker::e2e
