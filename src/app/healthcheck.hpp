// `sandbox-broker healthcheck [--url URL]`: one GET of /healthz with a short timeout, for a
// container's HEALTHCHECK (no curl in the image). Exit 0 healthy, 1 not, and one line saying
// why either way; any failure, a bad setting included, is "not healthy" (never exit 2, which
// Docker reserves).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/env_value.hpp"

namespace broker {

// The whole exchange, connect included: well inside the image's HEALTHCHECK timeout.
inline constexpr std::chrono::milliseconds kHealthcheckTimeout{2000};

// "http://HOST:PORT" of a listen address as seen from this host: a wildcard host (0.0.0.0,
// [::]) becomes the loopback address of its family. Throws ConfigError for an address it
// cannot read.
std::string local_url(const std::string& listen);

// The URL checked when none is given: /healthz on METRICS_LISTEN when that is set (the
// listener every role has then, the worker's only one), else on BROKER_LISTEN (default
// 127.0.0.1:8080). A wildcard host (0.0.0.0, [::]) becomes the loopback address of its family.
// Throws ConfigError for an address it cannot read.
std::string default_healthcheck_url(const EnvLookup& env);

struct HealthcheckResult {
    bool healthy = false;
    std::string line;  // "healthy: ..." or "unhealthy: ...", naming the URL
};

// GETs `url`; healthy when it answers 200 within `timeout`.
HealthcheckResult check_health(const std::string& url,
                               std::chrono::milliseconds timeout = kHealthcheckTimeout);

// The command: prints the result's line on stdout; returns the exit status (0 or 1).
int healthcheck_command(const EnvLookup& env, const std::optional<std::string>& url);

}  // namespace broker
