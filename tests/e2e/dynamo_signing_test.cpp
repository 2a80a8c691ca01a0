// The real binary's DynamoDB requests are signed: `migrate` pointed at a local HTTP server
// (standing in for DynamoDB) sends a well-formed SigV4 Authorization header for the region
// and the dynamodb service, the session token, and never the secret; the server's refusal
// stops the command with a message that names the error and no secret.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <regex>
#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/broker_process.hpp"

namespace broker::e2e {
namespace {

// Accepts connections on 127.0.0.1, records each request's head and body, answers every one
// with DynamoDB's answer to an unknown key.
class RefusingDynamo {
  public:
    RefusingDynamo() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, 16);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~RefusingDynamo() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    unsigned short port() const { return port_; }
    std::vector<std::string> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

  private:
    void serve() {
        for (;;) {
            const int client = ::accept(fd_, nullptr, nullptr);
            if (client < 0) return;
            std::string request;
            char buffer[4096];
            // The head, then the body its Content-Length announces.
            for (;;) {
                const auto head_end = request.find("\r\n\r\n");
                if (head_end != std::string::npos) {
                    const std::regex length_re("content-length: *([0-9]+)", std::regex::icase);
                    std::smatch m;
                    const std::string head = request.substr(0, head_end);
                    const std::size_t length = std::regex_search(head, m, length_re) ? std::stoul(m[1]) : 0;
                    if (request.size() >= head_end + 4 + length) break;
                }
                const auto n = ::recv(client, buffer, sizeof buffer, 0);
                if (n <= 0) break;
                request.append(buffer, static_cast<std::size_t>(n));
            }
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(request);
            }
            const std::string body =
                R"({"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."})";
            const std::string answer =
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
            ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
            ::close(client);
        }
    }

    int fd_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
};

TEST(DynamoSigning, MigrateSendsSignedRequestsAndNeverTheSecret) {
    RefusingDynamo server;
    TempDir dir;
    Environment env = serving_env();
    env["AWS_ACCESS_KEY_ID"] = "AKIAE2ETESTKEY";
    env["AWS_SECRET_ACCESS_KEY"] = "e2e-very-secret-value";
    env["AWS_SESSION_TOKEN"] = "e2e-session-token";
    env["AWS_REGION"] = "eu-west-1";
    const auto result = run_broker_command(
        {"migrate", "--store",
         "dynamodb://SandboxPool?endpoint=http://127.0.0.1:" + std::to_string(server.port())},
        env, dir.path());
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("UnrecognizedClientException"), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("e2e-very-secret-value"), std::string::npos) << result.err;

    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u) << "a refused signature is not retried";
    const std::string& request = requests[0];
    EXPECT_EQ(request.find("e2e-very-secret-value"), std::string::npos) << "the secret never travels";
    EXPECT_NE(request.find("X-Amz-Target: DynamoDB_20120810.DescribeTable"), std::string::npos) << request;
    EXPECT_NE(request.find("X-Amz-Security-Token: e2e-session-token"), std::string::npos) << request;
    const std::regex authorization(
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAE2ETESTKEY/[0-9]{8}/eu-west-1/dynamodb/aws4_request, "
        "SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*x-amz-date[a-z0-9;-]*x-amz-target[a-z0-9;-]*, "
        "Signature=[0-9a-f]{64}\r\n");
    EXPECT_TRUE(std::regex_search(request, authorization)) << request;
    EXPECT_TRUE(std::regex_search(request, std::regex("X-Amz-Date: [0-9]{8}T[0-9]{6}Z\r\n"))) << request;
}

}  // namespace
}  // namespace broker::e2e
