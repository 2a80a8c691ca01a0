// The batching log sink: lines below warning wait for the batch (or the flusher), a warning
// writes at once, nothing is lost at destruction, and concurrent lines never interleave.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "obs/buffered_sink.hpp"
#include "obs/json_log.hpp"

namespace broker {
namespace {

std::string contents(std::FILE* file) {
    std::fflush(file);
    std::rewind(file);
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file)) > 0;) text.append(buf, n);
    std::fseek(file, 0, SEEK_END);
    return text;
}

struct Fixture {
    Fixture(std::chrono::milliseconds interval) {
        sink = std::make_shared<BufferedSink>(file, interval);
        logger = std::make_shared<spdlog::logger>("t", sink);
        logger->set_formatter(make_log_formatter(LogFormat::json));
    }
    ~Fixture() {
        // The sink's flusher thread writes to the file until the sink is gone: close it last.
        logger.reset();
        sink.reset();
        std::fclose(file);
    }
    std::FILE* file = std::tmpfile();
    std::shared_ptr<BufferedSink> sink;
    std::shared_ptr<spdlog::logger> logger;
};

TEST(ObsBufferedSink, InfoWaitsForTheBatchAndAWarningWritesAtOnce) {
    Fixture f(std::chrono::hours(1));  // the flusher stays out of the way
    f.logger->info("first");
    EXPECT_EQ(contents(f.file), "");
    f.logger->warn("second");
    const std::string text = contents(f.file);
    EXPECT_NE(text.find("first"), std::string::npos);
    EXPECT_NE(text.find("second"), std::string::npos);
}

TEST(ObsBufferedSink, FlusherWritesQuietLinesWithinTheInterval) {
    Fixture f(std::chrono::milliseconds(20));
    f.logger->info("quiet");
    std::string text;
    for (int i = 0; i < 200 && text.empty(); ++i) {  // bounded: 2 s at most
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        text = contents(f.file);
    }
    EXPECT_NE(text.find("quiet"), std::string::npos);
}

TEST(ObsBufferedSink, ConcurrentLinesStayWholeAndNoneIsLostAtDestruction) {
    std::FILE* file = std::tmpfile();
    {
        auto sink = std::make_shared<BufferedSink>(file, std::chrono::hours(1), 4096);
        auto logger = std::make_shared<spdlog::logger>("t", sink);
        logger->set_formatter(make_log_formatter(LogFormat::json));
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < 500; ++i)
                    log_event(*logger, spdlog::level::info, "test", "line " + std::to_string(t));
            });
        }
        for (auto& thread : threads) thread.join();
    }
    std::rewind(file);
    int lines = 0;
    char buf[1024];
    while (std::fgets(buf, sizeof buf, file)) {
        const std::string line(buf);
        EXPECT_TRUE(line.starts_with("{\"timestamp\"") && line.ends_with("}\n")) << line;
        ++lines;
    }
    std::fclose(file);
    EXPECT_EQ(lines, 2000);
}

// Events reach a BufferedSink without spdlog's message (log_event formats them in the sink):
// the line must be the one any other sink gets from the same formatter, secrets masked alike.
TEST(ObsBufferedSink, EventsAreTheLinesOtherSinksGet) {
    const std::vector<std::string> secrets = {"sekret-token-123456"};
    const LogFields fields{.request_id = "r-1",
                           .track_id = "p \"9\"\n",
                           .sandbox_id = "2009521",
                           .action = "allocate",
                           .outcome = "success",
                           .latency_ms = 1.5,
                           .status = 201,
                           .error = "Bearer abcdefghijklmnopqrstuvwxyz was sekret-token-123456",
                           .extra = {{"method", "POST"}, {"api_token", "x"}, {"count", 3}}};
    auto render = [&](std::shared_ptr<spdlog::sinks::sink> sink, std::ostringstream* stream,
                      std::FILE* file) {
        auto logger = std::make_shared<spdlog::logger>("t", sink);
        logger->set_formatter(make_log_formatter(LogFormat::json, secrets));
        log_event(*logger, spdlog::level::info, "broker.http", "done sekret-token-123456", fields);
        logger->flush();
        std::string line = stream ? stream->str() : contents(file);
        // The timestamps differ by when each line was written.
        const auto end = line.find("\",\"level\"");
        return end == std::string::npos ? line : line.substr(end);
    };
    std::ostringstream stream;
    const std::string expected =
        render(std::make_shared<spdlog::sinks::ostream_sink_mt>(stream), &stream, nullptr);
    Fixture f(std::chrono::hours(1));
    const std::string got = render(f.sink, nullptr, f.file);
    EXPECT_EQ(got, expected);
    EXPECT_EQ(got.find("sekret-token-123456"), std::string::npos) << got;
    EXPECT_EQ(got.find("abcdefghijklmnop"), std::string::npos) << got;
    EXPECT_NE(got.find("\"status\":201,\"error\""), std::string::npos) << got;
    EXPECT_TRUE(got.ends_with("\"count\":3}\n")) << got;
}

// A pattern instead of one of ours: events still come out, through spdlog's message path.
TEST(ObsBufferedSink, EventsFallBackToSpdlogsPathForAPattern) {
    Fixture f(std::chrono::hours(1));
    f.logger->set_pattern("%v");
    log_event(*f.logger, spdlog::level::warn, "broker.http", "plain");
    EXPECT_NE(contents(f.file).find("plain"), std::string::npos);
}

// The logger's level and flush level hold for events as for spdlog's own calls.
TEST(ObsBufferedSink, EventsKeepTheLoggersLevelAndFlushLevel) {
    Fixture f(std::chrono::hours(1));
    f.logger->set_level(spdlog::level::warn);
    log_event(*f.logger, spdlog::level::info, "t", "dropped");
    f.logger->flush();
    EXPECT_EQ(contents(f.file), "");
    f.logger->set_level(spdlog::level::info);
    f.logger->flush_on(spdlog::level::info);
    log_event(*f.logger, spdlog::level::info, "t", "at once");
    EXPECT_NE(contents(f.file).find("at once"), std::string::npos);
}

}  // namespace
}  // namespace broker
