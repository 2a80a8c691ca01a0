// Who a request counts against for rate limiting: the participant when the request names
// one the caller authenticated (the rate-limit middleware passes participant ids only for
// requests with a valid participant token), else the client's IP address. X-Forwarded-For
// is believed only when the peer is a configured trusted proxy (TRUSTED_PROXIES), and then
// only up to the right-most address no trusted proxy vouches for: anything further left
// was written by the client itself.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace broker {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a dual-stack socket
// reports) is held as IPv4 so both spellings are one client.
struct IpAddress {
    bool is_v4 = true;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Accepts `1.2.3.4`, `::1`, `fe80::1%eth0` (zone dropped), `[::1]`, and with a port
// `1.2.3.4:80` or `[::1]:80`, as proxies write them into X-Forwarded-For.
std::optional<IpAddress> parse_ip(std::string_view text);
std::string to_string(const IpAddress& address);

struct Cidr {
    IpAddress network;
    int prefix_length = 0;
    bool contains(const IpAddress& address) const;
};

// `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). Host bits are masked off.
std::optional<Cidr> parse_cidr(std::string_view text);

class TrustedProxies {
public:
    TrustedProxies() = default;
    explicit TrustedProxies(std::vector<Cidr> ranges) : ranges_(std::move(ranges)) {}
    // A comma- or space-separated list; throws ConfigError naming TRUSTED_PROXIES and the
    // entry it cannot read.
    static TrustedProxies parse(std::string_view list);
    bool contains(const IpAddress& address) const;
    bool empty() const { return ranges_.empty(); }

private:
    std::vector<Cidr> ranges_;
};

// The client's address: the peer, or when the peer is trusted, the right-most address of
// X-Forwarded-For that is not a trusted proxy (the left-most when all are; the last trusted
// one reached when the next is unreadable). `forwarded_for` is every X-Forwarded-For line
// joined with commas. Returns the peer text unchanged when it is not an IP address.
std::string client_ip(std::string_view peer, std::string_view forwarded_for, const TrustedProxies& trusted);

struct ClientKeyInput {
    std::string_view instruqt_sandbox_id{};  // X-Instruqt-Sandbox-ID
    std::string_view track_id{};             // X-Track-ID, legacy name of the same id
    std::string_view forwarded_for{};        // X-Forwarded-For
    std::string_view peer{};                 // the TCP peer's address
};

// Participant ids longer than this are cut: a key is held in memory per client.
inline constexpr std::size_t kMaxParticipantKeyBytes = 256;

// `participant:<id>` for X-Instruqt-Sandbox-ID, else X-Track-ID (both spellings of one id
// share a bucket); else `ip:<client ip>`. Blank header values count as absent.
std::string rate_limit_key(const ClientKeyInput& input, const TrustedProxies& trusted);

}  // namespace broker
