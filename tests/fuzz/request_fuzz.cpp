// libFuzzer target: bytes off the wire through Beast's request parser with the server's
// limits and the server's framing rules (http/request_framing: Transfer-Encoding, Host,
// repeated single-value fields), then through the pure parts of the pipeline that read headers: the target
// split, the request-id rule, the participant / client-IP rate-limit key (X-Forwarded-For and trusted
// proxies), and the CORS decision. Built with clang by scripts/fuzz.sh.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/errors.hpp"
#include "http/client_key.hpp"
#include "http/cors_policy.hpp"
#include "http/request_framing.hpp"
#include "http/request_id.hpp"

namespace {

namespace bhttp = boost::beast::http;

// The server's defaults (MAX_HEADER_BYTES, MAX_BODY_BYTES).
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::uint64_t kBodyLimit = 64 * 1024;

std::string_view sv(boost::beast::string_view s) {
    return {s.data(), s.size()};
}

void check(bool condition) {
    if (!condition) std::abort();  // a broken invariant is a finding
}

const broker::TrustedProxies& trusted() {
    static const broker::TrustedProxies proxies =
        broker::TrustedProxies::parse("10.0.0.0/8, fd00::/8, 127.0.0.1");
    return proxies;
}

void exercise_headers(const bhttp::request<bhttp::string_body>& req, bool chunked) {
    // The framing rules: a request that passes them has at most one of each field the broker
    // reads once, a Host when it is HTTP/1.1, and no Transfer-Encoding but a lone chunked.
    if (!broker::request_header_problem(req, chunked)) {
        check(req.count(bhttp::field::authorization) <= 1);
        check(req.count(bhttp::field::host) <= 1);
        check(req.version() < 11 || req.count(bhttp::field::host) == 1);
        check(req.count(bhttp::field::transfer_encoding) == 0 || chunked);
        check(req.count(bhttp::field::transfer_encoding) == 0 ||
              req.count(bhttp::field::content_length) == 0);
    }

    // The target split of the pipeline.
    const std::string_view target = sv(req.target());
    const auto question = target.find('?');
    const std::string_view path = target.substr(0, question);
    check(path.size() <= target.size());

    // Request ids: an echoed id is always sane; a generated one is 32 hex digits.
    const std::string id = broker::request_id_for(sv(req["X-Request-ID"]));
    check(broker::is_sane_request_id(id));

    // The rate-limit key, from a trusted and from an untrusted peer.
    const broker::ClientKeyInput from_proxy{sv(req["X-Instruqt-Sandbox-ID"]), sv(req["X-Track-ID"]),
                                            sv(req["X-Forwarded-For"]), "10.1.2.3"};
    const std::string key = broker::rate_limit_key(from_proxy, trusted());
    check(key.starts_with("participant:") || key.starts_with("ip:"));
    check(key.size() <= broker::kMaxParticipantKeyBytes + 64);
    broker::ClientKeyInput direct = from_proxy;
    direct.peer = "203.0.113.9";
    direct.instruqt_sandbox_id = {};
    direct.track_id = {};
    const std::string ip_key = broker::rate_limit_key(direct, trusted());
    // An untrusted peer's X-Forwarded-For is never believed.
    check(ip_key == "ip:203.0.113.9" || ip_key.starts_with("participant:"));

    // CORS: an allowed origin is echoed only when it is exactly a listed one.
    static const broker::CorsPolicy policy({"https://play.instruqt.com", "http://localhost:3000"});
    const std::string_view origin = sv(req[bhttp::field::origin]);
    const std::string_view allowed = policy.allow_origin(origin);
    check(allowed.empty() || allowed == origin);
    (void)broker::CorsPolicy::is_preflight(sv(req.method_string()), origin);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (used < bytes.size() && !parser.is_done()) {
        const std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        if (ec == bhttp::error::need_more) break;
        if (ec) break;
        if (n == 0) break;
        used += n;
    }
    if (parser.is_header_done()) exercise_headers(parser.get(), parser.chunked());

    // The same pure parts straight on the bytes, as if they were one header value.
    (void)broker::parse_ip(bytes);
    (void)broker::parse_cidr(bytes);
    (void)broker::client_ip("10.0.0.1", bytes, trusted());
    try {
        (void)broker::TrustedProxies::parse(bytes);
    } catch (const broker::ConfigError&) {
        // Expected for most inputs: start-up refuses the setting.
    }
    return 0;
}
