// A small Prometheus registry: counter, gauge and histogram families with label sets.
//
// Cost model: a family resolves a label set to a handle once (a shared lock and a map
// look-up); callers keep the handle, and every increment after that is a relaxed atomic
// on a per-thread shard of the series, so two request threads never fight over one cache
// line. The registry's lock is taken only at registration and at scrape.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "obs/exposition.hpp"

namespace broker {

namespace metrics_detail {

// Shards per series. Threads are dealt shards round-robin, so up to this many threads
// increment without sharing a cache line; more threads share, which stays correct.
inline constexpr std::size_t kShards = 8;

inline std::size_t shard_index() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return index;
}

struct alignas(64) CacheLine {
    std::array<std::atomic<std::uint64_t>, 8> cells{};
};

// Adds a double held as its bit pattern; only contended when threads share a shard.
void add_double(std::atomic<std::uint64_t>& bits, double delta);
double load_double(const std::atomic<std::uint64_t>& bits);

class CounterSeries {
public:
    void add(std::uint64_t n) {
        lines_[shard_index()].cells[0].fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t value() const;

private:
    std::array<CacheLine, kShards> lines_{};
};

// A gauge is set as often as it is added to, so it is one atomic, not sharded.
class GaugeSeries {
public:
    void set(double v);
    void add(double delta) { add_double(bits_, delta); }
    double value() const { return load_double(bits_); }

private:
    std::atomic<std::uint64_t> bits_{0};  // 0 is the bit pattern of +0.0
};

class HistogramSeries {
public:
    explicit HistogramSeries(const std::vector<double>& bounds);
    void observe(double v);
    // Per-bucket counts (not cumulative; last one is +Inf) and the sum of observations.
    std::vector<std::uint64_t> bucket_counts() const;
    double sum() const;

private:
    std::atomic<std::uint64_t>& cell(std::size_t shard, std::size_t i) {
        return lines_[shard * lines_per_shard_ + i / 8].cells[i % 8];
    }
    const std::atomic<std::uint64_t>& cell(std::size_t shard, std::size_t i) const {
        return lines_[shard * lines_per_shard_ + i / 8].cells[i % 8];
    }

    const std::vector<double>& bounds_;
    std::size_t lines_per_shard_;
    std::vector<CacheLine> lines_;  // per shard: bounds+1 counts, then the sum's bits
};

// Orders label-value tuples so a look-up needs no allocation.
struct LabelValuesLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                            [](std::string_view x, std::string_view y) { return x < y; });
    }
};

}  // namespace metrics_detail

// Handles: cheap to copy, valid as long as the registry lives. A default-constructed
// handle is detached and ignores updates.
class Counter {
public:
    Counter() = default;
    explicit Counter(metrics_detail::CounterSeries* series) : series_(series) {}
    void inc(std::uint64_t n = 1) {
        if (series_) series_->add(n);
    }
    std::uint64_t value() const { return series_ ? series_->value() : 0; }

private:
    metrics_detail::CounterSeries* series_ = nullptr;
};

class Gauge {
public:
    Gauge() = default;
    explicit Gauge(metrics_detail::GaugeSeries* series) : series_(series) {}
    void set(double v) {
        if (series_) series_->set(v);
    }
    void inc(double by = 1) {
        if (series_) series_->add(by);
    }
    void dec(double by = 1) {
        if (series_) series_->add(-by);
    }
    double value() const { return series_ ? series_->value() : 0; }

private:
    metrics_detail::GaugeSeries* series_ = nullptr;
};

class Histogram {
public:
    Histogram() = default;
    explicit Histogram(metrics_detail::HistogramSeries* series) : series_(series) {}
    void observe(double v) {
        if (series_) series_->observe(v);
    }
    // Observes a duration in seconds, the unit every *_seconds histogram uses.
    void observe_duration(std::chrono::steady_clock::duration d) {
        observe(std::chrono::duration<double>(d).count());
    }

private:
    metrics_detail::HistogramSeries* series_ = nullptr;
};

// Prometheus' default buckets, in seconds: suits request latencies.
inline const std::vector<double> kDefaultLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,    2.5,   5,    10};

// What every family shares: name, help, label names, the series map and its lock.
template <class Series>
class FamilyBase {
public:
    FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
        : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
    virtual ~FamilyBase() = default;
    const std::string& name() const { return name_; }
    virtual MetricFamily collect() const = 0;

protected:
    // Finds or creates the series for these label values; throws std::invalid_argument
    // when their number differs from the family's label names (a programming error).
    Series& resolve(std::span<const std::string_view> values);
    virtual std::unique_ptr<Series> make_series() const = 0;
    LabelPairs label_pairs(const std::vector<std::string>& values) const;

    template <class Fn>
    void for_each_series(Fn&& fn) const {
        std::shared_lock lock(mutex_);
        for (const auto& [values, series] : series_) fn(values, *series);
    }

    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;

private:
    mutable std::shared_mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<Series>, metrics_detail::LabelValuesLess> series_;
};

class CounterFamily final : public FamilyBase<metrics_detail::CounterSeries> {
public:
    using FamilyBase::FamilyBase;
    Counter with_labels(std::initializer_list<std::string_view> values) {
        return Counter(&resolve({values.begin(), values.size()}));
    }
    MetricFamily collect() const override;

private:
    std::unique_ptr<metrics_detail::CounterSeries> make_series() const override;
};

class GaugeFamily final : public FamilyBase<metrics_detail::GaugeSeries> {
public:
    using FamilyBase::FamilyBase;
    Gauge with_labels(std::initializer_list<std::string_view> values) {
        return Gauge(&resolve({values.begin(), values.size()}));
    }
    MetricFamily collect() const override;

private:
    std::unique_ptr<metrics_detail::GaugeSeries> make_series() const override;
};

class HistogramFamily final : public FamilyBase<metrics_detail::HistogramSeries> {
public:
    HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                    std::vector<double> bounds);
    Histogram with_labels(std::initializer_list<std::string_view> values) {
        return Histogram(&resolve({values.begin(), values.size()}));
    }
    const std::vector<double>& bounds() const { return bounds_; }
    MetricFamily collect() const override;

private:
    std::unique_ptr<metrics_detail::HistogramSeries> make_series() const override;
    std::vector<double> bounds_;
};

class MetricsRegistry {
public:
    // Produces whole families at scrape time (process metrics, cached pool counts).
    using Collector = std::function<std::vector<MetricFamily>()>;

    // Registration throws std::invalid_argument on a bad or already-registered name,
    // bad label names, or histogram bounds that are not finite and strictly increasing.
    CounterFamily& counter_family(std::string name, std::string help, std::vector<std::string> label_names);
    GaugeFamily& gauge_family(std::string name, std::string help, std::vector<std::string> label_names);
    HistogramFamily& histogram_family(std::string name, std::string help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds = kDefaultLatencyBuckets);
    // Unlabelled shorthands.
    Counter counter(std::string name, std::string help);
    Gauge gauge(std::string name, std::string help);
    Histogram histogram(std::string name, std::string help, std::vector<double> bounds = kDefaultLatencyBuckets);

    void add_collector(Collector collector);

    // Every family, registered and collected, sorted by name.
    std::vector<MetricFamily> collect() const;
    // The /metrics body (see kExpositionContentType).
    std::string render() const { return render_text(collect()); }

private:
    void check_new_name(const std::string& name, const std::vector<std::string>& label_names) const;

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<CounterFamily>> counters_;
    std::vector<std::unique_ptr<GaugeFamily>> gauges_;
    std::vector<std::unique_ptr<HistogramFamily>> histograms_;
    std::vector<Collector> collectors_;
};

}  // namespace broker
