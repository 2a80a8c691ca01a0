// The job-run log line as a metric filter reads it: counts and the duration are JSON numbers
// (the duration to the microsecond), so `{ $.deleted > 0 }` and `{ $.latency_ms > 1000 }` work.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "jobs/job.hpp"
#include "unit/support/log_capture.hpp"

namespace broker {
namespace {

using testing::LogCapture;

// Each steady_now() call moves by `step`: a run measured by it lasts exactly one step.
class SteppingClock final : public Clock {
  public:
    explicit SteppingClock(std::chrono::microseconds step) : step_(step) {}
    UnixSeconds now() const override { return 1'700'000'000; }
    std::chrono::steady_clock::time_point steady_now() const override {
        const auto t = std::chrono::steady_clock::time_point(elapsed_);
        elapsed_ += step_;
        return t;
    }

  private:
    std::chrono::microseconds step_;
    mutable std::chrono::microseconds elapsed_{0};
};

TEST(JobsLog, RunLineCarriesCountsAndDurationAsNumbers) {
    LogCapture capture(LogCapture::Format::json);
    SteppingClock clock(std::chrono::microseconds(1250));
    const auto result = run_job_body("cleanup", clock, [](JobRunResult& r) {
        r.add("deleted", 3);
        r.add("failed", 0);
    });

    const auto lines = capture.json_lines();
    ASSERT_EQ(lines.size(), 1u);
    const auto& line = lines[0];
    EXPECT_EQ(line["message"], "job run finished");
    ASSERT_TRUE(line["deleted"].is_number_integer()) << line.dump();
    EXPECT_EQ(line["deleted"].get<int>(), 3);
    ASSERT_TRUE(line["failed"].is_number_integer()) << line.dump();
    EXPECT_EQ(line["failed"].get<int>(), 0);
    ASSERT_TRUE(line["latency_ms"].is_number()) << line.dump();
    EXPECT_DOUBLE_EQ(line["latency_ms"].get<double>(), 1.25);
    // The admin API's summary keeps the same precision.
    EXPECT_DOUBLE_EQ(result.to_json()["duration_ms"].get<double>(), 1.25);
}

TEST(JobsLog, FailedRunLineStillHasNumericCounts) {
    LogCapture capture(LogCapture::Format::json);
    SteppingClock clock(std::chrono::microseconds(2'000'500));
    run_job_body("sync", clock, [](JobRunResult& r) {
        r.add("listed", 7);
        throw std::runtime_error("provider down");
    });

    const auto lines = capture.json_lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["level"], "WARNING");
    EXPECT_EQ(lines[0]["listed"].get<int>(), 7);
    EXPECT_DOUBLE_EQ(lines[0]["latency_ms"].get<double>(), 2000.5);
}

}  // namespace
}  // namespace broker
