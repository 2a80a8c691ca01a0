// Unit tests of the framing rules the server applies to a request's header before reading
// its body: each header below goes through Beast's parser as the server's does.
#include <gtest/gtest.h>

#include "http/asio.hpp"
#include "http/request_framing.hpp"

namespace broker {
namespace {

// The header of `text` as parsed by Beast, and what the framing rules say of it.
std::optional<std::string> problem_of(const std::string& text) {
    bhttp::request_parser<bhttp::string_body> parser;
    boost::system::error_code ec;
    parser.put(asio::buffer(text), ec);
    EXPECT_TRUE(!ec || ec == bhttp::error::need_more) << ec.message() << " for " << text;
    EXPECT_TRUE(parser.is_header_done()) << text;
    return request_header_problem(parser.get(), parser.chunked());
}

TEST(RequestFraming, SoundRequestsPass) {
    EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), std::nullopt);
    EXPECT_EQ(problem_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"), std::nullopt);
    EXPECT_EQ(problem_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"), std::nullopt);
    EXPECT_EQ(problem_of("GET / HTTP/1.0\r\n\r\n"), std::nullopt) << "HTTP/1.0 needs no Host";
    EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: a\r\nX-Forwarded-For: b\r\n\r\n"),
              std::nullopt)
        << "lists may repeat";
}

TEST(RequestFraming, TransferEncodingMustBeALoneChunked) {
    for (const char* coding : {"gzip", "chunked, gzip", "gzip, chunked", "identity"}) {
        const auto problem = problem_of(std::string("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") +
                                        coding + "\r\n\r\n");
        ASSERT_TRUE(problem) << coding;
        EXPECT_NE(problem->find("Transfer-Encoding"), std::string::npos) << *problem;
    }
    EXPECT_EQ(
        problem_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"),
        "Transfer-Encoding and Content-Length must not be sent together");
}

TEST(RequestFraming, Http11NeedsExactlyOneHost) {
    EXPECT_EQ(problem_of("GET / HTTP/1.1\r\n\r\n"), "an HTTP/1.1 request needs a Host header");
    EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), "Host appears more than once");
    EXPECT_EQ(problem_of("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n"), "Host appears more than once");
}

TEST(RequestFraming, FieldsReadOnceMustNotRepeat) {
    for (const char* name : {"Authorization", "X-Instruqt-Sandbox-ID", "X-Track-ID", "X-Instruqt-Track-ID",
                             "X-Sandbox-Name-Prefix", "Idempotency-Key"}) {
        const std::string field = std::string(name) + ": v\r\n";
        EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: x\r\n" + field + field + "\r\n"),
                  std::string(name) + " appears more than once");
        EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: x\r\n" + field + "\r\n"), std::nullopt);
    }
    // Names compare case-insensitively, as HTTP says.
    EXPECT_EQ(problem_of("GET / HTTP/1.1\r\nHost: x\r\nauthorization: a\r\nAUTHORIZATION: b\r\n\r\n"),
              "Authorization appears more than once");
}

TEST(RequestFraming, RepeatedContentLengthIsRefused) {
    EXPECT_EQ(problem_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
              "Content-Length appears more than once");
}

}  // namespace
}  // namespace broker
