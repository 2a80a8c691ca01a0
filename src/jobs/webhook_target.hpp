// Where a webhook may be sent: only http and https URLs, and, for deployments whose
// subscribers are third parties, never to loopback, private, link-local or otherwise
// internal addresses (checked when the subscription is made and again at every connection,
// since a name may change its address).
#pragma once

#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

namespace broker {

// Why `url` cannot be a webhook target (not http/https, no host, credentials in it, too
// long), or nothing when its form is fine.
std::optional<std::string> webhook_url_problem(std::string_view url);

// The URL's host name (brackets of an IPv6 literal removed); empty when it has none.
std::string webhook_url_host(std::string_view url);

// Whether the address is one an outside subscriber must not make the broker call: loopback,
// RFC 1918 and other private ranges, link-local (cloud metadata), carrier-grade NAT,
// unspecified, multicast, IPv6 unique-local, and IPv4-mapped forms of these.
bool is_internal_address(const ::sockaddr* address);

// Resolves `host` and says why it may not be a target when private targets are refused: it
// does not resolve, or one of its addresses is internal. Nothing when it is fine.
std::optional<std::string> internal_target_problem(const std::string& host);

}  // namespace broker
