// Process-wide logging set up from the configuration: structured lines (obs/json_log) on
// stdout at LOG_LEVEL in LOG_FORMAT, with the configured tokens masked wherever they appear.
#pragma once

#include <string>

#include "core/config.hpp"
#include "obs/json_log.hpp"

namespace broker {

// The logging settings of `config`; throws ConfigError naming LOG_LEVEL or LOG_FORMAT.
LogConfig log_config_from(const Config& config);

// Installs the stdout logger for `config` as spdlog's default logger.
void setup_logging(const Config& config);

// The same with only a level (JSON lines, no secrets to mask): for commands that hold no
// tokens. Throws ConfigError naming LOG_LEVEL for an unknown level.
void setup_logging(const std::string& level);

}  // namespace broker
