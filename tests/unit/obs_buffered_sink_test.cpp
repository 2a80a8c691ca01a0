// The batching log sink: lines below warning wait for the batch (or the flusher), a warning
// writes at once, nothing is lost at destruction, and concurrent lines never interleave.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
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
                for (int i = 0; i < 500; ++i) log_event(*logger, spdlog::level::info, "test", "line " + std::to_string(t));
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

}  // namespace
}  // namespace broker
