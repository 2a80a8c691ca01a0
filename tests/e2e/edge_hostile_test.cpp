// Hostile input against the real binary: a 200 KB header, a 5 MB body, garbage bytes and a
// client that stalls mid-request. Each is refused (or the connection closed, or timed out)
// and the server keeps answering. A bad TRUSTED_PROXIES stops start-up, naming it.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <thread>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class EdgeHostileTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        Environment env = serving_env();
        env["HTTP_READ_TIMEOUT_SEC"] = "2";
        broker_ = std::make_unique<BrokerInstance>(sandboxes("hostile-", 10, 740000), env);
    }
    static void TearDownTestSuite() { broker_.reset(); }

    static void expect_still_serving() {
        auto client = broker_->client();
        EXPECT_EQ(client.get("/healthz").status, 200);
        EXPECT_EQ(allocate(client, unique_participant("after")).status, 201);
    }

    // Sends `bytes` on a fresh connection; returns what the server sent back until it closed
    // the connection (or `wait` passed).
    static std::string send_raw(const std::string& bytes, std::chrono::seconds wait = std::chrono::seconds(5)) {
        asio::io_context io;
        tcp::socket socket(io);
        socket.connect({asio::ip::make_address(broker_->process().host()), broker_->process().port()});
        boost::system::error_code ec;
        asio::write(socket, asio::buffer(bytes), ec);
        std::string answer;
        const auto deadline = std::chrono::steady_clock::now() + wait;
        socket.non_blocking(true);
        char buf[4096];
        while (std::chrono::steady_clock::now() < deadline) {
            const std::size_t n = socket.read_some(asio::buffer(buf), ec);
            if (ec == asio::error::would_block) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                continue;
            }
            if (ec) break;  // closed (eof or reset)
            answer.append(buf, n);
        }
        return answer;
    }

    static inline std::unique_ptr<BrokerInstance> broker_;
};

TEST_F(EdgeHostileTest, A200KilobyteHeaderIsRefused) {
    // Raw bytes: the test's own HTTP client refuses to build a field this large.
    const std::string answer =
        send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: " + std::string(200 * 1024, 'a') + "\r\n\r\n");
    EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 431", 0) == 0 || answer.rfind("HTTP/1.1 400", 0) == 0)
        << answer.substr(0, 200);
    EXPECT_NE(answer.find("HEADERS_TOO_LARGE"), std::string::npos) << answer.substr(0, 400);
    expect_still_serving();
}

TEST_F(EdgeHostileTest, AFiveMegabyteBodyIs413) {
    auto client = broker_->client();
    try {
        const auto res = client.post("/v1/allocate", participant_headers(unique_participant("big")),
                                     std::string(5 * 1024 * 1024, 'b'));
        EXPECT_EQ(res.status, 413);
    } catch (const std::runtime_error&) {
    }
    expect_still_serving();
}

TEST_F(EdgeHostileTest, GarbageBytesGet400OrAClosedConnection) {
    std::string garbage;
    for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) % 256);
    for (const std::string& bytes : {garbage, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
                                     std::string("GET / HTTP/9.9\r\nHost: x\r\n\r\n"),
                                     std::string("POST /v1/allocate HTTP/1.1\r\nContent-Length: -5\r\n\r\n")}) {
        const std::string answer = send_raw(bytes);
        EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 400", 0) == 0) << answer.substr(0, 200);
    }
    expect_still_serving();
}

TEST_F(EdgeHostileTest, AStalledClientIsTimedOutWhileOthersAreServed) {
    const auto started = std::chrono::steady_clock::now();
    std::thread stalled([] { send_raw("POST /v1/allocate HTTP/1.1\r\nHost: x\r\nX-Partial", std::chrono::seconds(8)); });
    expect_still_serving();
    stalled.join();
    // HTTP_READ_TIMEOUT_SEC=2: the server closed it well before the test's own 8 s.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(6));
    expect_still_serving();
}

TEST(EdgeStartup, AnUnreadableTrustedProxyStopsStartUpNamingIt) {
    TempDir dir;
    Environment env = serving_env();
    env["TRUSTED_PROXIES"] = "10.0.0.0/8, proxy.internal";
    const auto result = run_broker_command({"run", "--listen", "127.0.0.1:0", "--store",
                                            "sqlite:" + (dir.path() / "b.db").string()},
                                           env, dir.path());
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("TRUSTED_PROXIES"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace broker::e2e
