// The CORS decisions of ARCHITECTURE §3, kept free of I/O so the fuzzer and unit tests can
// drive them: which origins may call, what a preflight answers, what every answer exposes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace broker {

class CorsPolicy {
  public:
    static constexpr std::string_view kAllowMethods = "GET, POST";
    static constexpr std::string_view kAllowHeaders =
        "Authorization, Content-Type, X-Track-ID, X-Instruqt-Sandbox-ID, X-Instruqt-Track-ID, "
        "X-Sandbox-Name-Prefix, Idempotency-Key, X-Request-ID";
    static constexpr std::string_view kExposeHeaders =
        "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, Retry-After";
    static constexpr std::string_view kMaxAgeSeconds = "600";

    // `origins` as configured (CORS_ALLOWED_ORIGINS): exact origins, or "*" for any.
    explicit CorsPolicy(std::vector<std::string> origins);

    // The Access-Control-Allow-Origin value for a request's Origin header, or "" when that
    // origin gets no CORS headers at all (unlisted, absent, or malformed).
    std::string_view allow_origin(std::string_view origin) const;

    // An OPTIONS request with an Origin is a preflight: the middleware answers it itself so it
    // never reaches the router (which would say 405).
    static bool is_preflight(std::string_view method, std::string_view origin);

    // Whether answers depend on Origin (a specific allow list): caches then need Vary: Origin.
    bool varies_by_origin() const { return !any_ && !origins_.empty(); }

  private:
    std::vector<std::string> origins_;
    bool any_ = false;
};

}  // namespace broker
