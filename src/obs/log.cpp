#include "obs/log.hpp"

#include <spdlog/spdlog.h>

#include "core/errors.hpp"

namespace broker {

LogConfig log_config_from(const Config& config) {
    LogConfig log;
    const auto level = parse_log_level(config.log_level);
    if (!level) {
        throw ConfigError("LOG_LEVEL=\"" + config.log_level +
                          "\" must be one of trace, debug, info, warning, error, critical, off");
    }
    log.level = *level;
    const auto format = parse_log_format(config.log_format);
    if (!format) throw ConfigError("LOG_FORMAT=\"" + config.log_format + "\" must be json or text");
    log.format = *format;
    log.secrets = {config.api_token, config.admin_token};
    log.secrets.insert(log.secrets.end(), config.other_secrets.begin(), config.other_secrets.end());
    return log;
}

void setup_logging(const Config& config) {
    configure_logging(log_config_from(config));
    for (const auto& note : config.setting_notes) log_event(spdlog::level::info, "broker.config", note);
}

void setup_logging(const std::string& level) {
    Config config;
    config.log_level = level;
    LogConfig log = log_config_from(config);
    log.secrets.clear();
    configure_logging(log);
}

}  // namespace broker
