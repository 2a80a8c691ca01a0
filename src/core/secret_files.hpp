// Secrets from files (the Docker and Kubernetes secrets convention): each setting that holds a
// secret also accepts NAME_FILE=/path, read beneath every configuration reader, so a secret
// given as a file is the same setting to the broker, the jobs, the provider and PostgreSQL.
#pragma once

#include <array>
#include <string_view>

#include "core/env_value.hpp"

namespace broker {

// The settings that hold secrets, each readable from the file NAME_FILE names.
inline constexpr std::array<std::string_view, 6> kSecretSettings = {
    "BROKER_API_TOKEN", "BROKER_ADMIN_TOKEN", "CSP_API_TOKEN", "NIOSXAAS_PASSWORD", "METRICS_TOKEN",
    "BROKER_STORE",  // a PostgreSQL URL carries the database password
};

inline constexpr std::string_view kSecretFileSuffix = "_FILE";

// `env` where asking for a secret setting answers the content of the file NAME_FILE names
// (one trailing line end removed) when NAME itself is unset. Throws ConfigError when both
// NAME and NAME_FILE are set (naming both), or when the file cannot be read (naming the
// variable and the path, never the content).
EnvLookup with_secret_files(EnvLookup env);

}  // namespace broker
