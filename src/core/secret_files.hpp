// Secrets from files (the Docker and Kubernetes secrets convention): each setting that holds a
// secret also accepts NAME_FILE=/path, read beneath every configuration reader, so a secret
// given as a file is the same setting to the broker, the jobs, the provider and PostgreSQL.
#pragma once

#include <string_view>
#include <vector>

#include "core/env_value.hpp"

namespace broker {

// The settings that hold secrets (those core/settings_catalog marks secret: the tokens, the
// NIOSXaaS password, the store URL, which may carry a database password, and the AWS keys),
// each readable from the file NAME_FILE names.
std::vector<std::string_view> secret_settings();

inline constexpr std::string_view kSecretFileSuffix = "_FILE";

// True for NAME_FILE where NAME is a secret setting: the file form of that setting.
bool is_secret_file_setting(std::string_view name);

// `env` where asking for a secret setting answers the content of the file NAME_FILE names
// (one trailing line end removed) when NAME itself is unset. Throws ConfigError when both
// NAME and NAME_FILE are set (naming both), or when the file cannot be read (naming the
// variable and the path, never the content).
EnvLookup with_secret_files(EnvLookup env);

}  // namespace broker
