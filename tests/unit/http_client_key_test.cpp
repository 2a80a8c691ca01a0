// Rate-limit key selection: participant headers first, then the client IP, with
// X-Forwarded-For believed only through trusted proxies; IPv4/IPv6 CIDR matching.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "http/client_key.hpp"

namespace broker {
namespace {

bool in(const char* cidr, const char* ip) {
    auto range = parse_cidr(cidr);
    auto address = parse_ip(ip);
    EXPECT_TRUE(range) << cidr;
    EXPECT_TRUE(address) << ip;
    return range && address && range->contains(*address);
}

TEST(HttpClientKey, ParsesAddressesInTheirUsualSpellings) {
    EXPECT_EQ(to_string(*parse_ip("192.168.1.10")), "192.168.1.10");
    EXPECT_EQ(to_string(*parse_ip(" 10.0.0.1:8080 ")), "10.0.0.1");
    EXPECT_EQ(to_string(*parse_ip("2001:DB8::1")), "2001:db8::1");
    EXPECT_EQ(to_string(*parse_ip("[2001:db8::1]:443")), "2001:db8::1");
    EXPECT_EQ(to_string(*parse_ip("[::1]")), "::1");
    EXPECT_EQ(to_string(*parse_ip("fe80::1%eth0")), "fe80::1");
    // A dual-stack socket reports IPv4 clients as mapped addresses: same client.
    EXPECT_EQ(*parse_ip("::ffff:10.1.2.3"), *parse_ip("10.1.2.3"));
    EXPECT_TRUE(parse_ip("::ffff:10.1.2.3")->is_v4);
    for (const char* bad : {"", "unknown", "1.2.3", "256.1.1.1", "1.2.3.4:http", "[::1", "[::1]x", "::g",
                            "1.2.3.4/8", "_hidden"}) {
        EXPECT_FALSE(parse_ip(bad)) << bad;
    }
}

TEST(HttpClientKey, MatchesIpv4Cidrs) {
    EXPECT_TRUE(in("10.0.0.0/8", "10.255.3.4"));
    EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.1"));
    EXPECT_TRUE(in("192.168.4.0/22", "192.168.7.255"));
    EXPECT_FALSE(in("192.168.4.0/22", "192.168.8.0"));
    EXPECT_FALSE(in("192.168.4.0/22", "192.168.3.255"));
    EXPECT_TRUE(in("172.16.5.4", "172.16.5.4"));  // bare address is a /32
    EXPECT_FALSE(in("172.16.5.4", "172.16.5.5"));
    EXPECT_TRUE(in("0.0.0.0/0", "8.8.8.8"));
    EXPECT_TRUE(in("10.1.2.3/8", "10.9.9.9"));  // host bits masked off
    EXPECT_TRUE(in("10.0.0.0/8", "::ffff:10.0.0.7"));
    EXPECT_FALSE(in("0.0.0.0/0", "::1"));  // families never match each other
}

TEST(HttpClientKey, MatchesIpv6Cidrs) {
    EXPECT_TRUE(in("2001:db8::/32", "2001:db8:ffff::1"));
    EXPECT_FALSE(in("2001:db8::/32", "2001:db9::1"));
    EXPECT_TRUE(in("fd00::/7", "fdff::1"));
    EXPECT_TRUE(in("fc00::/7", "fd12::1"));
    EXPECT_FALSE(in("fc00::/7", "fe00::1"));
    EXPECT_TRUE(in("2001:db8::/127", "2001:db8::1"));
    EXPECT_FALSE(in("2001:db8::/127", "2001:db8::2"));
    EXPECT_TRUE(in("::1", "::1"));
    EXPECT_TRUE(in("::/0", "2a00::5"));
    EXPECT_FALSE(in("::/0", "1.2.3.4"));
}

TEST(HttpClientKey, RejectsBadCidrs) {
    for (const char* bad :
         {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8", "/8", "10.0.0.0/-1"}) {
        EXPECT_FALSE(parse_cidr(bad)) << bad;
    }
}

TEST(HttpClientKey, ParsesTrustedProxyList) {
    auto trusted = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.5 fd00::/8,,");
    EXPECT_TRUE(trusted.contains(*parse_ip("10.2.3.4")));
    EXPECT_TRUE(trusted.contains(*parse_ip("192.168.1.5")));
    EXPECT_TRUE(trusted.contains(*parse_ip("fd00::9")));
    EXPECT_FALSE(trusted.contains(*parse_ip("192.168.1.6")));
    EXPECT_TRUE(TrustedProxies::parse("").empty());
    try {
        TrustedProxies::parse("10.0.0.0/8, nonsense");
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("TRUSTED_PROXIES"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("nonsense"), std::string::npos);
    }
}

TEST(HttpClientKey, ForwardedForIgnoredFromUntrustedPeer) {
    auto trusted = TrustedProxies::parse("10.0.0.0/8");
    EXPECT_EQ(client_ip("203.0.113.9", "1.1.1.1", trusted), "203.0.113.9");
    EXPECT_EQ(client_ip("203.0.113.9", "1.1.1.1", TrustedProxies{}), "203.0.113.9");
}

TEST(HttpClientKey, TakesRightMostUntrustedForwardedAddress) {
    auto trusted = TrustedProxies::parse("10.0.0.0/8, 2001:db8::/32");
    // The client forged "6.6.6.6"; the trusted proxies appended the real 198.51.100.7.
    EXPECT_EQ(client_ip("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.5", trusted), "198.51.100.7");
    EXPECT_EQ(client_ip("10.0.0.2", "198.51.100.7", trusted), "198.51.100.7");
    EXPECT_EQ(client_ip("::ffff:10.0.0.2", "198.51.100.7:5555", trusted), "198.51.100.7");
    EXPECT_EQ(client_ip("2001:db8::10", "2a00:1450::1, 2001:db8::11", trusted), "2a00:1450::1");
    // Everything trusted: the left-most address is the furthest known.
    EXPECT_EQ(client_ip("10.0.0.2", "10.9.9.9, 10.0.0.5", trusted), "10.9.9.9");
    // Unreadable entry: stop at the last address a trusted hop vouched for.
    EXPECT_EQ(client_ip("10.0.0.2", "198.51.100.7, garbage, 10.0.0.5", trusted), "10.0.0.5");
    EXPECT_EQ(client_ip("10.0.0.2", "unknown", trusted), "10.0.0.2");
    // Trusted peer without the header, or with blanks.
    EXPECT_EQ(client_ip("10.0.0.2", "", trusted), "10.0.0.2");
    EXPECT_EQ(client_ip("10.0.0.2", " , ", trusted), "10.0.0.2");
}

TEST(HttpClientKey, ParticipantHeadersComeFirst) {
    auto trusted = TrustedProxies::parse("10.0.0.0/8");
    EXPECT_EQ(
        rate_limit_key({.instruqt_sandbox_id = "abc", .track_id = "legacy", .peer = "1.2.3.4"}, trusted),
        "participant:abc");
    EXPECT_EQ(rate_limit_key({.track_id = "legacy", .peer = "1.2.3.4"}, trusted), "participant:legacy");
    // Both header names carry the same id: one bucket.
    EXPECT_EQ(rate_limit_key({.instruqt_sandbox_id = "same"}, trusted),
              rate_limit_key({.track_id = "same"}, trusted));
    EXPECT_EQ(rate_limit_key({.instruqt_sandbox_id = "  ", .track_id = " t1 "}, trusted), "participant:t1");
    EXPECT_EQ(rate_limit_key({.forwarded_for = "198.51.100.7", .peer = "10.1.1.1"}, trusted),
              "ip:198.51.100.7");
    EXPECT_EQ(rate_limit_key({.forwarded_for = "198.51.100.7", .peer = "203.0.113.1"}, trusted),
              "ip:203.0.113.1");
    // An id cannot be used to make the limiter hold huge keys.
    const std::string huge(10'000, 'x');
    EXPECT_EQ(rate_limit_key({.instruqt_sandbox_id = huge}, trusted).size(),
              std::string("participant:").size() + kMaxParticipantKeyBytes);
}

}  // namespace
}  // namespace broker
