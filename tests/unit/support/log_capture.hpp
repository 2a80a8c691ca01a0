// Captures what the default spdlog logger writes while it lives, so tests can read the lines
// (as plain text, or as the broker's JSON lines) and check that credentials never reach one.
// Test-only.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "obs/json_log.hpp"

namespace broker::testing {

class LogCapture {
  public:
    // spdlog's own pattern by default; `json`: the broker's JSON lines, with `secrets` masked.
    enum class Format { spdlog_default, json };

    explicit LogCapture(Format format = Format::spdlog_default, std::vector<std::string> secrets = {})
        : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
        auto logger = std::make_shared<spdlog::logger>("capture", sink);
        if (format == Format::json)
            logger->set_formatter(make_log_formatter(LogFormat::json, std::move(secrets)));
        spdlog::set_default_logger(logger);
        spdlog::set_level(spdlog::level::trace);
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::string text() const { return stream_.str(); }

    std::vector<std::string> lines() const {
        std::vector<std::string> result;
        std::istringstream in(stream_.str());
        for (std::string line; std::getline(in, line);) result.push_back(line);
        return result;
    }

    // Every line parsed (Format::json).
    std::vector<nlohmann::json> json_lines() const {
        std::vector<nlohmann::json> result;
        for (const auto& line : lines()) result.push_back(nlohmann::json::parse(line));
        return result;
    }

  private:
    std::ostringstream stream_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace broker::testing
