// The libcurl wrapper against a real local server: methods, headers, bodies, timeouts,
// refused connections, and redaction of credentials.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/http_client.hpp"
#include "unit/support/scripted_http_server.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using testing::ScriptedHttpServer;
using testing::ScriptedResponse;

HttpClient short_client() {
    return HttpClient({.connect_timeout = milliseconds(200), .total_timeout = milliseconds(300)});
}

TEST(HttpClient, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
    ScriptedHttpServer server;
    ScriptedResponse answer = ScriptedResponse::json(201, R"({"ok":true})");
    answer.headers = {{"X-Thing", "42"}};
    server.script("POST", "/things", {answer});

    const auto result = short_client().perform({"POST",
                                                server.base_url() + "/things?x=1",
                                                {{"Authorization", "Token abc"}, {"X-Custom", "v"}},
                                                "payload"});

    ASSERT_TRUE(result.ok()) << result.error->message;
    EXPECT_EQ(result.response->status, 201);
    EXPECT_EQ(result.response->body, R"({"ok":true})");
    EXPECT_EQ(result.response->header("x-thing"), "42");
    EXPECT_EQ(result.response->header("Content-Type"), "application/json");
    EXPECT_EQ(result.response->header("Missing"), std::nullopt);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].target, "/things?x=1");
    EXPECT_EQ(requests[0].header("Authorization"), "Token abc");
    EXPECT_EQ(requests[0].header("X-Custom"), "v");
    EXPECT_EQ(requests[0].body, "payload");
}

TEST(HttpClient, DeleteAndGetUseTheirMethods) {
    ScriptedHttpServer server;
    server.script("DELETE", "/a", {ScriptedResponse::json(204, "")});
    server.script("GET", "/b", {ScriptedResponse::json(200, "[]")});
    const auto client = short_client();
    EXPECT_EQ(client.perform({"DELETE", server.base_url() + "/a", {}, ""}).response->status, 204);
    EXPECT_EQ(client.perform({"GET", server.base_url() + "/b", {}, ""}).response->body, "[]");
    EXPECT_EQ(server.count("DELETE", "/a"), 1u);
    EXPECT_EQ(server.count("GET", "/b"), 1u);
}

TEST(HttpClient, ErrorStatusesAreAnswersNotErrors) {
    ScriptedHttpServer server;
    server.script("GET", "/", {ScriptedResponse::html(500, "<html>oops</html>")});
    const auto result = short_client().perform({"GET", server.base_url() + "/", {}, ""});
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.response->status, 500);
    EXPECT_EQ(result.response->body, "<html>oops</html>");
}

TEST(HttpClient, SlowAnswerIsATimeout) {
    ScriptedHttpServer server;
    ScriptedResponse slow = ScriptedResponse::json(200, "{}");
    slow.delay = milliseconds(1500);
    server.script("GET", "/slow", {slow});
    const auto result = short_client().perform({"GET", server.base_url() + "/slow", {}, ""});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error->kind, TransportErrorKind::timeout);
    EXPECT_GE(result.elapsed, milliseconds(250));
    EXPECT_LT(result.elapsed, milliseconds(1200));
}

TEST(HttpClient, RefusedConnectionIsAConnectError) {
    unsigned short port = 0;
    {
        ScriptedHttpServer server;  // take a free port, then close it
        port = server.port();
    }
    const auto result =
        short_client().perform({"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, ""});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error->kind, TransportErrorKind::connect);
    EXPECT_FALSE(result.error->message.empty());
}

TEST(HttpClient, OversizedBodyIsCutOff) {
    ScriptedHttpServer server;
    server.script("GET", "/big", {ScriptedResponse::json(200, std::string(10'000, 'x'))});
    HttpClient client(
        {.connect_timeout = milliseconds(200), .total_timeout = milliseconds(300), .max_body_bytes = 1000});
    const auto result = client.perform({"GET", server.base_url() + "/big", {}, ""});
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error->message.find("larger than 1000"), std::string::npos);
}

// A server that answers one connection with `answer` as raw bytes and closes it: for answers
// no well-behaved server sends (cut off before their announced length).
class RawAnswerServer {
  public:
    // `hold_open`: the connection stays open after the answer until the client closes it.
    explicit RawAnswerServer(std::string answer, bool hold_open = false) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
            ::listen(listener_, 1) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
            throw std::runtime_error("cannot listen");
        }
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this, hold_open, answer = std::move(answer)] {
            const int connection = ::accept(listener_, nullptr, nullptr);
            if (connection < 0) return;
            char request[4096];
            (void)::recv(connection, request, sizeof request, 0);
            (void)::send(connection, answer.data(), answer.size(), MSG_NOSIGNAL);
            if (hold_open) (void)::recv(connection, request, sizeof request, 0);
            ::close(connection);
        });
    }
    ~RawAnswerServer() {
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

  private:
    int listener_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
};

std::string read_all(HttpBodyStream& stream, std::size_t piece) {
    std::string body;
    std::string chunk(piece, '\0');
    while (const std::size_t n = stream.read(chunk.data(), chunk.size())) body.append(chunk.data(), n);
    return body;
}

TEST(HttpBodyStream, ReadsABodyLargerThanTheBufferedBoundInPieces) {
    ScriptedHttpServer server;
    std::string big;
    for (int i = 0; i < 20000; ++i) big += std::to_string(i) + ",";
    ScriptedResponse answer = ScriptedResponse::json(200, big);
    answer.headers = {{"X-Thing", "42"}};
    server.script("GET", "/big", {answer});
    const HttpClient client(
        {.connect_timeout = milliseconds(500), .total_timeout = milliseconds(2000), .max_body_bytes = 1000});
    const auto stream = client.open({"GET", server.base_url() + "/big", {{"Authorization", "Token t"}}, ""},
                                    milliseconds(2000));
    ASSERT_TRUE(stream->head().ok()) << stream->head().error->message;
    EXPECT_EQ(stream->head().response->status, 200);
    EXPECT_EQ(stream->head().response->header("x-thing"), "42");
    EXPECT_TRUE(stream->head().response->body.empty()) << "the body is the stream's";
    EXPECT_EQ(read_all(*stream, 333), big);
    EXPECT_FALSE(stream->error());
    EXPECT_EQ(server.requests().at(0).header("Authorization"), "Token t");
}

TEST(HttpBodyStream, AnErrorAnswerIsReadWithinALimit) {
    ScriptedHttpServer server;
    server.script("GET", "/", {ScriptedResponse::html(503, std::string(5000, 'e'))});
    const auto stream = short_client().open({"GET", server.base_url() + "/", {}, ""}, milliseconds(1000));
    ASSERT_TRUE(stream->head().ok());
    EXPECT_EQ(stream->head().response->status, 503);
    EXPECT_EQ(stream->read_rest(100), std::string(100, 'e'));
}

TEST(HttpBodyStream, NoAnswerIsTheHeadsError) {
    unsigned short port = 0;
    {
        ScriptedHttpServer server;
        port = server.port();
    }
    const auto refused = short_client().open(
        {"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, ""}, milliseconds(500));
    ASSERT_FALSE(refused->head().ok());
    EXPECT_EQ(refused->head().error->kind, TransportErrorKind::connect);
    char byte = 0;
    EXPECT_EQ(refused->read(&byte, 1), 0u);

    ScriptedHttpServer server;
    ScriptedResponse slow = ScriptedResponse::json(200, "{}");
    slow.delay = milliseconds(1500);
    server.script("GET", "/slow", {slow});
    const auto late = short_client().open({"GET", server.base_url() + "/slow", {}, ""}, milliseconds(5000));
    ASSERT_FALSE(late->head().ok());
    EXPECT_EQ(late->head().error->kind, TransportErrorKind::timeout);
    EXPECT_LT(late->head().elapsed, milliseconds(1200));
}

TEST(HttpBodyStream, ABodyCutOffIsAnError) {
    RawAnswerServer server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        "{\"results\": [");
    const auto stream = short_client().open({"GET", server.url(), {}, ""}, milliseconds(2000));
    ASSERT_TRUE(stream->head().ok());
    EXPECT_EQ(read_all(*stream, 64), "{\"results\": [");
    ASSERT_TRUE(stream->error()) << "fewer bytes than announced";
    EXPECT_EQ(stream->error()->kind, TransportErrorKind::other);
}

TEST(HttpBodyStream, AServerThatStopsSendingIsAnIdleTimeout) {
    RawAnswerServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1,", /*hold_open=*/true);
    const auto stream = short_client().open({"GET", server.url(), {}, ""}, milliseconds(100));
    ASSERT_TRUE(stream->head().ok());
    EXPECT_EQ(read_all(*stream, 64), "[1,");
    ASSERT_TRUE(stream->error());
    EXPECT_EQ(stream->error()->kind, TransportErrorKind::timeout);
    EXPECT_NE(stream->error()->message.find("no answer data for 100 ms"), std::string::npos);
}

TEST(HttpClient, DescribeRedactsCredentials) {
    const HttpRequest request{
        "GET",
        "https://csp.example/v2/current_user/accounts",
        {{"Authorization", "Token s3cr3t"}, {"cookie", "sid=abc"}, {"Accept", "application/json"}},
        R"({"password":"hunter2"})"};
    const auto text = describe_for_log(request);
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(text.find("sid=abc"), std::string::npos);
    EXPECT_EQ(text.find("hunter2"), std::string::npos);  // bodies are never described
    EXPECT_NE(text.find("Authorization: <redacted>"), std::string::npos);
    EXPECT_NE(text.find("Accept: application/json"), std::string::npos);
    EXPECT_NE(text.find("GET https://csp.example/v2/current_user/accounts"), std::string::npos);
}

TEST(SafeLastSegment, TakesTheUuidAndRefusesPathTricks) {
    EXPECT_EQ(safe_last_segment("identity/accounts/3f1c-77aa_9"), "3f1c-77aa_9");
    EXPECT_EQ(safe_last_segment("identity/accounts/abc/"), "");
    EXPECT_EQ(safe_last_segment("abc"), "abc");
    EXPECT_EQ(safe_last_segment("identity/accounts/"), "");
    EXPECT_EQ(safe_last_segment("identity/accounts/.."), "");
    EXPECT_EQ(safe_last_segment("identity/../accounts/abc"), "");
    EXPECT_EQ(safe_last_segment("identity/accounts/a?b=c"), "");
    EXPECT_EQ(safe_last_segment("identity/accounts/a%2Fb"), "");
}

}  // namespace
}  // namespace broker
