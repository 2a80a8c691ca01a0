// Where a webhook may be sent (service/webhook_target): http(s) URLs of the right form, and the
// addresses refused when private targets are not allowed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "jobs/webhook_target.hpp"

namespace broker {
namespace {

bool internal(const std::string& text) {
    sockaddr_storage storage{};
    if (text.find(':') != std::string::npos) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
        v6->sin6_family = AF_INET6;
        EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr), 1) << text;
    } else {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
        v4->sin_family = AF_INET;
        EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &v4->sin_addr), 1) << text;
    }
    return is_internal_address(reinterpret_cast<const sockaddr*>(&storage));
}

TEST(WebhookTarget, OnlyHttpAndHttpsUrlsWithAHost) {
    EXPECT_FALSE(webhook_url_problem("https://hooks.example.com/broker"));
    EXPECT_FALSE(webhook_url_problem("http://127.0.0.1:8080/hook?x=1"));
    EXPECT_FALSE(webhook_url_problem("http://[::1]:8080/"));
    EXPECT_TRUE(webhook_url_problem(""));
    EXPECT_TRUE(webhook_url_problem("ftp://example.com/"));
    EXPECT_TRUE(webhook_url_problem("file:///etc/passwd"));
    EXPECT_TRUE(webhook_url_problem("gopher://example.com/"));
    EXPECT_TRUE(webhook_url_problem("example.com/hook")) << "no scheme";
    EXPECT_TRUE(webhook_url_problem("https://user:pw@example.com/"));
    EXPECT_TRUE(webhook_url_problem("https://example.com/#part"));
    EXPECT_TRUE(webhook_url_problem("https:///nohost"));
    EXPECT_TRUE(webhook_url_problem("https://example.com/" + std::string(3000, 'a')));
    EXPECT_EQ(webhook_url_host("https://hooks.example.com:8443/x"), "hooks.example.com");
    EXPECT_EQ(webhook_url_host("http://[::1]:8080/"), "::1");
}

TEST(WebhookTarget, LoopbackPrivateAndLinkLocalAddressesAreInternal) {
    for (const char* address : {"127.0.0.1",
                                "127.8.9.10",
                                "10.1.2.3",
                                "172.16.0.1",
                                "172.31.255.255",
                                "192.168.1.1",
                                "169.254.169.254",
                                "100.64.0.1",
                                "0.0.0.0",
                                "224.0.0.1",
                                "255.255.255.255",
                                "::1",
                                "::",
                                "fe80::1",
                                "fc00::1",
                                "fd12:3456::1",
                                "::ffff:127.0.0.1",
                                "::ffff:10.0.0.1",
                                "::ffff:169.254.169.254",
                                "ff02::1"}) {
        EXPECT_TRUE(internal(address)) << address;
    }
    for (const char* address : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1",
                                "2606:4700:4700::1111", "::ffff:8.8.8.8"}) {
        EXPECT_FALSE(internal(address)) << address;
    }
}

TEST(WebhookTarget, ANameThatResolvesToLoopbackIsRefused) {
    const auto problem = internal_target_problem("localhost");
    ASSERT_TRUE(problem);
    EXPECT_NE(problem->find("internal address"), std::string::npos) << *problem;
    EXPECT_TRUE(internal_target_problem("127.0.0.1"));
    EXPECT_TRUE(internal_target_problem("::1"));
}

}  // namespace
}  // namespace broker
