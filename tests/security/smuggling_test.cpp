// Threat: request smuggling. A proxy in front and the broker disagree on where a request
// ends (a Transfer-Encoding that is not chunked alone, Transfer-Encoding beside
// Content-Length, two Host headers, a repeated token or participant header), so a second,
// hidden request rides in the first one's body, or one reader takes the first value and
// another the last. Defence: http/request_framing refuses each with 400 and closes the
// connection before reading a body (RFC 9112 §3.2, §6.3); the hidden request is never answered.
#include <gtest/gtest.h>

#include "e2e/broker_fixture.hpp"
#include "security/raw_connection.hpp"

namespace broker::e2e {
namespace {

class SmugglingTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        broker_ = std::make_unique<BrokerInstance>(sandboxes("smuggle-", 5, 760000));
    }
    static void TearDownTestSuite() { broker_.reset(); }

    static RawExchange send(const std::string& bytes) {
        return raw_exchange(broker_->process().host(), broker_->process().port(), bytes);
    }

    // One 400 with the message, the connection closed, and nothing answered after it.
    static void expect_refused_and_closed(const std::string& bytes, const std::string& message) {
        const RawExchange ex = send(bytes);
        EXPECT_EQ(ex.answer.rfind("HTTP/1.1 400", 0), 0u) << ex.answer;
        EXPECT_NE(ex.answer.find(message), std::string::npos) << ex.answer;
        EXPECT_NE(ex.answer.find("Connection: close"), std::string::npos) << ex.answer;
        EXPECT_TRUE(ex.closed) << "the connection must be closed after the refusal";
        EXPECT_EQ(answer_count(ex.answer), 1) << "the smuggled request was answered:\n" << ex.answer;
    }

    static inline std::unique_ptr<BrokerInstance> broker_;
};

const std::string kHidden =
    "GET /v1/admin/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kAdminToken + "\r\n\r\n";

TEST_F(SmugglingTest, ATransferEncodingWhoseLastCodingIsNotChunkedIs400AndClosed) {
    expect_refused_and_closed(
        "POST /v1/allocate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + kHidden,
        "Transfer-Encoding");
    expect_refused_and_closed(
        "POST /v1/allocate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + kHidden,
        "Transfer-Encoding");
}

TEST_F(SmugglingTest, TransferEncodingWithContentLengthIs400AndClosed) {
    // In either order; Beast's parser refuses the pair when the coding is chunked, the framing
    // rule when it is not.
    expect_refused_and_closed(
        "POST /v1/allocate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Content-Length: " +
            std::to_string(5 + kHidden.size()) + "\r\n\r\n0\r\n\r\n" + kHidden,
        "Content-Length");
    expect_refused_and_closed(
        "POST /v1/allocate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
            kHidden,
        "Transfer-Encoding");
    expect_refused_and_closed(
        "POST /v1/allocate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
        "Content-Length: " +
            std::to_string(kHidden.size()) + "\r\n\r\n" + kHidden,
        "Transfer-Encoding and Content-Length must not be sent together");
}

TEST_F(SmugglingTest, TwoTransferEncodingFieldsAre400) {
    expect_refused_and_closed(
        "POST /v1/allocate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
        "chunked\r\n\r\n"
        "0\r\n\r\n" +
            kHidden,
        "Transfer-Encoding");
    expect_refused_and_closed(
        "POST /v1/allocate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
        "chunked\r\n\r\n"
        "0\r\n\r\n" +
            kHidden,
        "Transfer-Encoding");
}

TEST_F(SmugglingTest, Http11WithoutHostOrWithTwoHostsIs400) {
    expect_refused_and_closed("GET /healthz HTTP/1.1\r\n\r\n", "Host");
    expect_refused_and_closed("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                              "Host appears more than once");
}

TEST_F(SmugglingTest, RepeatedTokenOrParticipantHeadersAre400NamingTheHeader) {
    const std::string participant = "X-Instruqt-Sandbox-ID: lab-1\r\n";
    const std::string token = "Authorization: Bearer " + kApiToken + "\r\n";
    for (const std::string name : {"Authorization", "X-Instruqt-Sandbox-ID", "X-Track-ID",
                                   "X-Instruqt-Track-ID", "X-Sandbox-Name-Prefix", "Idempotency-Key"}) {
        const std::string twice = name + ": one\r\n" + name + ": two\r\n";
        expect_refused_and_closed(
            "POST /v1/allocate HTTP/1.1\r\nHost: x\r\n" + (name == "Authorization" ? "" : token) +
                (name == "X-Instruqt-Sandbox-ID" ? "" : participant) + twice + "Content-Length: 0\r\n\r\n",
            name + " appears more than once");
    }
}

TEST_F(SmugglingTest, WellFramedRequestsStillWorkOnOneConnection) {
    // The control: chunked alone, and two pipelined requests, are both answered.
    const RawExchange ex =
        send("POST /v1/allocate HTTP/1.1\r\nHost: x\r\n" + std::string("Authorization: Bearer ") + kApiToken +
             "\r\nX-Instruqt-Sandbox-ID: " + unique_participant("chunked") +
             "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(ex.answer.rfind("HTTP/1.1 201", 0), 0u) << ex.answer;
    EXPECT_EQ(answer_count(ex.answer), 2) << ex.answer;
}

}  // namespace
}  // namespace broker::e2e
