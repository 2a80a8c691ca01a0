#include "obs/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/errors.hpp"

namespace broker {

void setup_logging(const std::string& level) {
    const auto parsed = spdlog::level::from_str(level);
    // from_str answers "off" for anything it does not know; only accept "off" when asked for.
    if (parsed == spdlog::level::off && level != "off") {
        throw ConfigError("LOG_LEVEL=\"" + level +
                          "\" must be one of trace, debug, info, warn, error, critical, off");
    }
    auto logger = spdlog::get("broker");
    if (!logger) logger = spdlog::stdout_logger_mt("broker");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    logger->set_level(parsed);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

}  // namespace broker
