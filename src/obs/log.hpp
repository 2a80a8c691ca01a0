// Process-wide logging: spdlog to stdout at LOG_LEVEL. Logs never carry tokens or
// Authorization headers. (Structured JSON lines come with the observability work.)
#pragma once

#include <string>

namespace broker {

// Installs the stdout logger at `level` (trace, debug, info, warn, error, critical, off);
// throws ConfigError naming LOG_LEVEL for anything else.
void setup_logging(const std::string& level);

}  // namespace broker
