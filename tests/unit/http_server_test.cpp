// The server and pipeline over a real socket: headers on every answer, error mapping in one
// place, limits, keep-alive, malformed input, and a graceful stop that lets requests finish.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/errors.hpp"
#include "http/middleware/security_headers.hpp"
#include "http/server.hpp"

namespace broker {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

asio::awaitable<Response> ok(RequestContext& ctx) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = R"({"id":")" + std::string(ctx.params.get("id")) + R"("})";
    co_return res;
}

asio::awaitable<Response> throws(RequestContext&) {
    throw std::runtime_error("boom");
    co_return Response{};
}

asio::awaitable<Response> overloaded(RequestContext&) {
    throw Overloaded("queue full", std::chrono::seconds(2));
    co_return Response{};
}

asio::awaitable<Response> slow(RequestContext& ctx) {
    asio::steady_timer timer(co_await asio::this_coro::executor, 300ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return co_await ok(ctx);
}

// Longer than ServerTimeoutTest's read timeout.
asio::awaitable<Response> slower(RequestContext& ctx) {
    asio::steady_timer timer(co_await asio::this_coro::executor, 700ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return co_await ok(ctx);
}

class ServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        router.add(bhttp::verb::get, "/ok/{id}", Access::open, ok);
        router.add(bhttp::verb::get, "/throw", Access::open, throws);
        router.add(bhttp::verb::get, "/busy", Access::open, overloaded);
        router.add(bhttp::verb::get, "/slow", Access::open, slow);
        router.add(bhttp::verb::get, "/mine", Access::participant, ok);
        router.add(bhttp::verb::get, "/admin", Access::admin, ok);
        pipeline.use(std::make_unique<SecurityHeaders>());
        ServerOptions options;
        options.max_header_bytes = 2048;
        options.max_body_bytes = 1024;
        options.shutdown_grace = 3s;
        server = std::make_unique<HttpServer>(options, pipeline);
        endpoint = server->start({asio::ip::make_address("127.0.0.1"), 0});
    }

    // One request on a fresh connection (or `stream` when given); the response, or an empty
    // optional when the server closed without answering.
    std::optional<bhttp::response<bhttp::string_body>> send(const std::string& raw,
                                                            beast::tcp_stream* stream = nullptr) {
        std::unique_ptr<beast::tcp_stream> own;
        if (!stream) {
            own = std::make_unique<beast::tcp_stream>(client_ioc);
            own->connect(endpoint);
            stream = own.get();
        }
        stream->expires_after(5s);
        boost::system::error_code ec;
        asio::write(stream->socket(), asio::buffer(raw), ec);
        if (ec) return std::nullopt;
        bhttp::response<bhttp::string_body> res;
        bhttp::read(stream->socket(), client_buffer, res, ec);
        if (ec) return std::nullopt;
        return res;
    }

    static std::string get(const std::string& target, const std::string& extra = "") {
        return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
    }

    Router router;
    Authenticator auth{"api", "adm"};
    Pipeline pipeline{router, auth};
    std::unique_ptr<HttpServer> server;
    tcp::endpoint endpoint;
    asio::io_context client_ioc;
    beast::flat_buffer client_buffer;
};

void expect_common_headers(const bhttp::response<bhttp::string_body>& res) {
    EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
    EXPECT_EQ(res["X-Frame-Options"], "DENY");
    EXPECT_EQ(res["Content-Security-Policy"], "default-src 'none'; frame-ancestors 'none'");
    EXPECT_EQ(res["Referrer-Policy"], "no-referrer");
    EXPECT_FALSE(res["Strict-Transport-Security"].empty());
    EXPECT_FALSE(res["Permissions-Policy"].empty());
    EXPECT_EQ(res[bhttp::field::content_type], "application/json");
    EXPECT_EQ(res["X-Request-ID"].size(), 32u);
}

TEST_F(ServerTest, BindsAnEphemeralPort) {
    EXPECT_NE(endpoint.port(), 0);
}

TEST_F(ServerTest, AnswersWithHeadersOnSuccessAndErrors) {
    for (const auto& [target, status] : std::vector<std::pair<std::string, int>>{
             {"/ok/7", 200}, {"/nope", 404}, {"/throw", 500}, {"/busy", 503}, {"/mine", 401}}) {
        const auto res = send(get(target));
        ASSERT_TRUE(res) << target;
        EXPECT_EQ(res->result_int(), status) << target;
        expect_common_headers(*res);
    }
}

TEST_F(ServerTest, ErrorBodiesCarryTheRequestId) {
    const auto res = send(get("/nope"));
    ASSERT_TRUE(res);
    const auto body = nlohmann::json::parse(res->body());
    EXPECT_EQ(body["error"]["code"], "NOT_FOUND");
    EXPECT_EQ(body["error"]["request_id"], std::string((*res)["X-Request-ID"]));
    EXPECT_EQ(body["detail"]["code"], "NOT_FOUND");
}

TEST_F(ServerTest, EchoesOnlySaneRequestIds) {
    auto res = send(get("/ok/1", "X-Request-ID: trace-1.A_b\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ((*res)["X-Request-ID"], "trace-1.A_b");
    res = send(get("/ok/1", "X-Request-ID: bad/id\r\n"));
    ASSERT_TRUE(res);
    EXPECT_NE((*res)["X-Request-ID"], "bad/id");
    EXPECT_EQ((*res)["X-Request-ID"].size(), 32u);
    res = send(get("/ok/1", "X-Request-ID: " + std::string(129, 'a') + "\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ((*res)["X-Request-ID"].size(), 32u);
}

TEST_F(ServerTest, MapsHandlerExceptionsInOnePlace) {
    auto res = send(get("/throw"));
    ASSERT_TRUE(res);
    EXPECT_EQ(nlohmann::json::parse(res->body())["error"]["code"], "INTERNAL_ERROR");
    EXPECT_EQ(res->body().find("boom"), std::string::npos) << "internal details stay in the log";

    res = send(get("/busy"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), bhttp::status::service_unavailable);
    EXPECT_EQ((*res)[bhttp::field::retry_after], "2");
    EXPECT_EQ(nlohmann::json::parse(res->body())["error"]["retry_after"], 2);
}

TEST_F(ServerTest, MethodNotAllowedListsAllow) {
    const auto res = send("POST /ok/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), bhttp::status::method_not_allowed);
    EXPECT_EQ((*res)[bhttp::field::allow], "GET");
}

TEST_F(ServerTest, AuthenticatesProtectedRoutes) {
    EXPECT_EQ(send(get("/mine"))->result_int(), 401);
    EXPECT_EQ(send(get("/mine", "Authorization: Bearer wrong\r\n"))->result_int(), 401);
    EXPECT_EQ(send(get("/mine", "Authorization: Bearer api\r\n"))->result_int(), 200);
    EXPECT_EQ(send(get("/mine", "Authorization: Bearer adm\r\n"))->result_int(), 200);
    EXPECT_EQ(send(get("/admin", "Authorization: Bearer api\r\n"))->result_int(), 403);
    EXPECT_EQ(send(get("/admin", "Authorization: Bearer adm\r\n"))->result_int(), 200);
}

TEST_F(ServerTest, KeepsConnectionsAliveAndAnswersPipelinedRequests) {
    beast::tcp_stream stream(client_ioc);
    stream.connect(endpoint);
    auto first = send(get("/ok/1"), &stream);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->keep_alive());
    auto second = send(get("/ok/2"), &stream);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->body(), R"({"id":"2"})");
    // Two requests in one write: both answered, in order.
    auto third = send(get("/ok/3") + get("/ok/4"), &stream);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->body(), R"({"id":"3"})");
    bhttp::response<bhttp::string_body> fourth;
    bhttp::read(stream.socket(), client_buffer, fourth);
    EXPECT_EQ(fourth.body(), R"({"id":"4"})");
}

TEST_F(ServerTest, OversizedHeadersAre431ThenClose) {
    beast::tcp_stream stream(client_ioc);
    stream.connect(endpoint);
    const auto res = send(get("/ok/1", "X-Big: " + std::string(4096, 'a') + "\r\n"), &stream);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), bhttp::status::request_header_fields_too_large);
    EXPECT_EQ(nlohmann::json::parse(res->body())["error"]["code"], "HEADERS_TOO_LARGE");
    expect_common_headers(*res);
    EXPECT_FALSE(res->keep_alive());
    EXPECT_FALSE(send(get("/ok/2"), &stream)) << "the connection is closed after a 431";
}

TEST_F(ServerTest, OversizedBodyIs413) {
    const auto res =
        send("POST /ok/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
    EXPECT_EQ(nlohmann::json::parse(res->body())["error"]["code"], "PAYLOAD_TOO_LARGE");
}

TEST_F(ServerTest, MalformedRequestsAre400AndNeverCrashTheServer) {
    for (const std::string& raw :
         {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
          std::string("GET /ok/1 HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
          std::string("POST /ok/1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
          std::string("\x00\x01\x02\xff\r\n\r\n", 8)}) {
        const auto res = send(raw);
        ASSERT_TRUE(res);
        EXPECT_EQ(res->result(), bhttp::status::bad_request);
        EXPECT_EQ(nlohmann::json::parse(res->body())["error"]["code"], "INVALID_REQUEST");
    }
    EXPECT_EQ(send(get("/ok/1"))->result_int(), 200);
}

TEST_F(ServerTest, GracefulStopLetsRequestsInFlightFinish) {
    beast::tcp_stream idle(client_ioc);
    idle.connect(endpoint);
    ASSERT_TRUE(send(get("/ok/1"), &idle));  // now idle, waiting for its next request

    auto in_flight = std::async(std::launch::async, [this] {
        asio::io_context ioc;
        beast::tcp_stream stream(ioc);
        stream.connect(endpoint);
        stream.expires_after(5s);
        const std::string raw = get("/slow");
        asio::write(stream.socket(), asio::buffer(raw));
        bhttp::response<bhttp::string_body> res;
        beast::flat_buffer buffer;
        bhttp::read(stream.socket(), buffer, res);
        return res;
    });
    // Let the slow request reach its handler before stopping.
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (server->connection_count() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(50ms);
    const auto before = std::chrono::steady_clock::now();
    server->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 2s)
        << "stop waits for requests, not for the grace bound";

    ASSERT_EQ(in_flight.wait_for(5s), std::future_status::ready);
    const auto res = in_flight.get();
    EXPECT_EQ(res.result(), bhttp::status::ok);
    EXPECT_FALSE(res.keep_alive()) << "a stopping server closes after the answer";
    EXPECT_FALSE(send(get("/ok/2"), &idle)) << "idle connections are closed";
    EXPECT_EQ(server->connection_count(), 0u);
}

// The time limits of a connection (a timer per connection that closes it once the limit of the
// read or write in progress has passed) with short timeouts on a server of their own.
class ServerTimeoutTest : public ::testing::Test {
  protected:
    void SetUp() override {
        router.add(bhttp::verb::get, "/slow", Access::open, slow);
        router.add(bhttp::verb::get, "/slower", Access::open, slower);
        ServerOptions options;
        options.threads = 2;
        options.read_timeout = 400ms;
        options.idle_timeout = 400ms;
        server = std::make_unique<HttpServer>(options, pipeline);
        endpoint = server->start({asio::ip::make_address("127.0.0.1"), 0});
    }

    // Writes `raw` one byte every `pause`; returns how many were written before the server
    // closed the connection (all of them when it never did).
    std::size_t trickle(tcp::socket& socket, const std::string& raw, std::chrono::milliseconds pause) {
        for (std::size_t i = 0; i < raw.size(); ++i) {
            boost::system::error_code ec;
            asio::write(socket, asio::buffer(raw.data() + i, 1), ec);
            if (ec || closed(socket)) return i;
            std::this_thread::sleep_for(pause);
        }
        return raw.size();
    }

  public:
    static bool closed(tcp::socket& socket) {
        socket.non_blocking(true);
        char byte;
        boost::system::error_code ec;
        socket.receive(asio::buffer(&byte, 1), 0, ec);
        socket.non_blocking(false);
        return ec && ec != asio::error::would_block;
    }

  protected:
    Router router;
    Authenticator auth{"api", "adm"};
    Pipeline pipeline{router, auth};
    std::unique_ptr<HttpServer> server;
    tcp::endpoint endpoint;
    asio::io_context client_ioc;
};

TEST_F(ServerTimeoutTest, ARequestTrickledInIsCutOffAtTheReadTimeout) {
    tcp::socket socket(client_ioc);
    socket.connect(endpoint);
    // 60 bytes at one per 50 ms would take 3 s; the read timeout is 0.4 s. Each byte that
    // arrives must not move the limit.
    const std::string raw =
        "GET /slow HTTP/1.1\r\nHost: t\r\nX-Padding: " + std::string(20, 'p') + "\r\n\r\n";
    EXPECT_LT(trickle(socket, raw, 50ms), raw.size());
}

// Polls for up to `within` whether the server closed `socket`.
bool closed_within(tcp::socket& socket, std::chrono::milliseconds within) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
        if (ServerTimeoutTest::closed(socket)) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

TEST_F(ServerTimeoutTest, AnIdleConnectionIsClosedAfterTheIdleTimeout) {
    tcp::socket idle(client_ioc);
    idle.connect(endpoint);
    EXPECT_TRUE(closed_within(idle, 5s));
}

TEST_F(ServerTimeoutTest, AHandlerMayTakeLongerThanTheReadTimeout) {
    tcp::socket socket(client_ioc);
    socket.connect(endpoint);
    const std::string raw = "GET /slower HTTP/1.1\r\nHost: t\r\n\r\n";
    asio::write(socket, asio::buffer(raw));
    bhttp::response<bhttp::string_body> res;
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    bhttp::read(socket, buffer, res, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 200);
    // And the connection then waits for the next request under the idle timeout again.
    EXPECT_TRUE(closed_within(socket, 5s));
}

}  // namespace
}  // namespace broker
