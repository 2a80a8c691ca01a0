// Registry and Prometheus exposition: golden text, escaping, bucket math, ordering,
// registration rules and concurrent increments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "obs/metrics.hpp"

namespace broker {
namespace {

TEST(ObsExposition, EscapesLabelValuesAndHelp) {
    EXPECT_EQ(escape_label_value(R"(a\b"c)" "\nd"), R"(a\\b\"c\nd)");
    EXPECT_EQ(escape_label_value("plain"), "plain");
    EXPECT_EQ(escape_help("line1\nline2 \\ \"q\""), R"(line1\nline2 \\ "q")");
}

TEST(ObsExposition, FormatsValuesThePrometheusWay) {
    EXPECT_EQ(format_value(3), "3");
    EXPECT_EQ(format_value(0.005), "0.005");
    EXPECT_EQ(format_value(2.5), "2.5");
    EXPECT_EQ(format_value(-1.5), "-1.5");
    EXPECT_EQ(format_value(1e21), "1e+21");
    EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(format_value(std::nan("")), "NaN");
    EXPECT_EQ(format_value(0.1 + 0.2), "0.30000000000000004");  // round-trips, not rounded
}

TEST(ObsExposition, ValidatesNames) {
    EXPECT_TRUE(is_valid_metric_name("broker_allocate_total"));
    EXPECT_TRUE(is_valid_metric_name("ns:sub_metric"));
    EXPECT_FALSE(is_valid_metric_name("1abc"));
    EXPECT_FALSE(is_valid_metric_name("a-b"));
    EXPECT_FALSE(is_valid_metric_name(""));
    EXPECT_TRUE(is_valid_label_name("outcome"));
    EXPECT_FALSE(is_valid_label_name("__reserved"));
    EXPECT_FALSE(is_valid_label_name("a:b"));
}

TEST(ObsMetrics, RendersGoldenTextForSmallRegistry) {
    MetricsRegistry registry;
    auto& requests = registry.counter_family("z_requests_total", "Requests by outcome.", {"outcome", "path"});
    requests.with_labels({"success", "/a"}).inc(3);
    requests.with_labels({"error", "/q\"x\\y\nz"}).inc();
    registry.gauge("a_in_flight", "In-flight requests.\nSecond line.").set(2.5);
    auto latency = registry.histogram("m_latency_seconds", "Latency.", {0.1, 1});
    latency.observe(0.05);
    latency.observe(0.1);  // on the bound: counts in le="0.1"
    latency.observe(5);

    const std::string expected =
        "# HELP a_in_flight In-flight requests.\\nSecond line.\n"
        "# TYPE a_in_flight gauge\n"
        "a_in_flight 2.5\n"
        "# HELP m_latency_seconds Latency.\n"
        "# TYPE m_latency_seconds histogram\n"
        "m_latency_seconds_bucket{le=\"0.1\"} 2\n"
        "m_latency_seconds_bucket{le=\"1\"} 2\n"
        "m_latency_seconds_bucket{le=\"+Inf\"} 3\n"
        "m_latency_seconds_sum 5.15\n"
        "m_latency_seconds_count 3\n"
        "# HELP z_requests_total Requests by outcome.\n"
        "# TYPE z_requests_total counter\n"
        "z_requests_total{outcome=\"error\",path=\"/q\\\"x\\\\y\\nz\"} 1\n"
        "z_requests_total{outcome=\"success\",path=\"/a\"} 3\n";
    EXPECT_EQ(registry.render(), expected);
}

TEST(ObsMetrics, LabelledHistogramPutsLeLastAndSumCountPerSeries) {
    MetricsRegistry registry;
    auto& family = registry.histogram_family("h_seconds", "H.", {"method"}, {1});
    family.with_labels({"POST"}).observe(2);
    family.with_labels({"GET"}).observe(0.5);
    const std::string expected =
        "# HELP h_seconds H.\n"
        "# TYPE h_seconds histogram\n"
        "h_seconds_bucket{method=\"GET\",le=\"1\"} 1\n"
        "h_seconds_bucket{method=\"GET\",le=\"+Inf\"} 1\n"
        "h_seconds_sum{method=\"GET\"} 0.5\n"
        "h_seconds_count{method=\"GET\"} 1\n"
        "h_seconds_bucket{method=\"POST\",le=\"1\"} 0\n"
        "h_seconds_bucket{method=\"POST\",le=\"+Inf\"} 1\n"
        "h_seconds_sum{method=\"POST\"} 2\n"
        "h_seconds_count{method=\"POST\"} 1\n";
    EXPECT_EQ(registry.render(), expected);
}

TEST(ObsMetrics, HistogramBucketsAreCumulativeAndNanGoesToInf) {
    MetricsRegistry registry;
    auto& family = registry.histogram_family("b_seconds", "B.", {}, {0.01, 0.1, 1, 10});
    auto h = family.with_labels({});
    for (double v : {0.0, 0.01, 0.010001, 0.5, 1.0, 9.99, 10.0, 10.01, -3.0}) h.observe(v);
    h.observe(std::nan(""));
    const auto f = family.collect();
    ASSERT_EQ(f.samples.size(), 7u);  // 4 bounds + Inf + sum + count
    // <=0.01: 0, 0.01, -3 | <=0.1: +0.010001 | <=1: +0.5, 1.0 | <=10: +9.99, 10 | Inf: +10.01, NaN
    EXPECT_EQ(f.samples[0].value, 3);
    EXPECT_EQ(f.samples[1].value, 4);
    EXPECT_EQ(f.samples[2].value, 6);
    EXPECT_EQ(f.samples[3].value, 8);
    EXPECT_EQ(f.samples[4].value, 10);
    EXPECT_EQ(f.samples[4].labels.back().second, "+Inf");
    EXPECT_TRUE(std::isnan(f.samples[5].value));  // NaN poisons the sum, as in other clients
    EXPECT_EQ(f.samples[6].suffix, "_count");
    EXPECT_EQ(f.samples[6].value, 10);
}

TEST(ObsMetrics, HistogramSumIsExact) {
    MetricsRegistry registry;
    auto h = registry.histogram("s_seconds", "S.", {1});
    for (int i = 0; i < 1000; ++i) h.observe(0.25);
    const auto families = registry.collect();
    ASSERT_EQ(families.size(), 1u);
    EXPECT_DOUBLE_EQ(families[0].samples[2].value, 250);
}

TEST(ObsMetrics, RefusesBadRegistrations) {
    MetricsRegistry registry;
    registry.counter("dup_total", "x");
    EXPECT_THROW(registry.counter("dup_total", "x"), std::invalid_argument);
    EXPECT_THROW(registry.gauge("dup_total", "x"), std::invalid_argument);
    EXPECT_THROW(registry.counter("bad-name", "x"), std::invalid_argument);
    EXPECT_THROW(registry.counter_family("c_total", "x", {"__x"}), std::invalid_argument);
    EXPECT_THROW(registry.histogram_family("h1", "x", {"le"}), std::invalid_argument);
    EXPECT_THROW(registry.histogram("h2", "x", {1, 1}), std::invalid_argument);
    EXPECT_THROW(registry.histogram("h3", "x", {2, 1}), std::invalid_argument);
    EXPECT_THROW(registry.histogram("h4", "x", {std::nan("")}), std::invalid_argument);
    EXPECT_NO_THROW(registry.histogram("h5", "x", {1, 2, std::numeric_limits<double>::infinity()}));
    auto& family = registry.counter_family("two_total", "x", {"a", "b"});
    EXPECT_THROW(family.with_labels({"only-one"}), std::invalid_argument);
}

TEST(ObsMetrics, SameLabelsResolveToSameSeries) {
    MetricsRegistry registry;
    auto& family = registry.counter_family("same_total", "x", {"k"});
    family.with_labels({"v"}).inc();
    family.with_labels({"v"}).inc(2);
    EXPECT_EQ(family.with_labels({"v"}).value(), 3u);
    EXPECT_EQ(family.collect().samples.size(), 1u);
}

TEST(ObsMetrics, EmptyLabelledFamilyStillHasHelpAndType) {
    MetricsRegistry registry;
    registry.counter_family("empty_total", "Nothing yet.", {"outcome"});
    EXPECT_EQ(registry.render(), "# HELP empty_total Nothing yet.\n# TYPE empty_total counter\n");
}

TEST(ObsMetrics, DetachedHandlesIgnoreUpdates) {
    Counter c;
    Gauge g;
    Histogram h;
    c.inc();
    g.set(3);
    h.observe(1);
    EXPECT_EQ(c.value(), 0u);
    EXPECT_EQ(g.value(), 0);
}

TEST(ObsMetrics, GaugeSetIncDec) {
    MetricsRegistry registry;
    auto g = registry.gauge("g", "x");
    g.set(10);
    g.inc();
    g.dec(0.5);
    EXPECT_DOUBLE_EQ(g.value(), 10.5);
}

TEST(ObsMetrics, CollectorsAreMergedInNameOrder) {
    MetricsRegistry registry;
    registry.counter("m_total", "x").inc();
    registry.add_collector([] {
        return std::vector<MetricFamily>{{"a_collected", "c", MetricType::gauge, {{"", {}, 7}}},
                                         {"z_collected", "c", MetricType::gauge, {{"", {}, 8}}}};
    });
    const auto families = registry.collect();
    ASSERT_EQ(families.size(), 3u);
    EXPECT_EQ(families[0].name, "a_collected");
    EXPECT_EQ(families[1].name, "m_total");
    EXPECT_EQ(families[2].name, "z_collected");
}

TEST(ObsMetrics, ConcurrentIncrementsAndObservationsSumExactly) {
    MetricsRegistry registry;
    auto& counters = registry.counter_family("conc_total", "x", {"k"});
    auto& histograms = registry.histogram_family("conc_seconds", "x", {"k"}, {0.5});
    constexpr int kThreads = 8;
    constexpr int kPerThread = 100'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            // Every thread resolves the handles itself, racing on series creation too.
            auto shared = counters.with_labels({"shared"});
            auto own = counters.with_labels({t % 2 ? "odd" : "even"});
            auto h = histograms.with_labels({"shared"});
            for (int i = 0; i < kPerThread; ++i) {
                shared.inc();
                own.inc(2);
                h.observe(i % 2 ? 1.0 : 0.25);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(counters.with_labels({"shared"}).value(), std::uint64_t{kThreads} * kPerThread);
    EXPECT_EQ(counters.with_labels({"odd"}).value(), std::uint64_t{kThreads / 2} * kPerThread * 2);
    const auto h = histograms.collect();
    EXPECT_EQ(h.samples[0].value, kThreads * kPerThread / 2);  // le=0.5
    EXPECT_EQ(h.samples[1].value, kThreads * kPerThread);      // +Inf
    EXPECT_DOUBLE_EQ(h.samples[2].value, kThreads * (kPerThread / 2) * 1.25);
    EXPECT_EQ(h.samples[3].value, kThreads * kPerThread);
}

}  // namespace
}  // namespace broker
