// Metric series storage, families and the registry (see metrics.hpp for the cost model).
#include "obs/metrics.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace broker {

namespace metrics_detail {

void add_double(std::atomic<std::uint64_t>& bits, double delta) {
    std::uint64_t old_bits = bits.load(std::memory_order_relaxed);
    while (!bits.compare_exchange_weak(old_bits, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old_bits) + delta),
                                       std::memory_order_relaxed)) {
    }
}

double load_double(const std::atomic<std::uint64_t>& bits) {
    return std::bit_cast<double>(bits.load(std::memory_order_relaxed));
}

std::uint64_t CounterSeries::value() const {
    std::uint64_t sum = 0;
    for (const auto& line : lines_) sum += line.cells[0].load(std::memory_order_relaxed);
    return sum;
}

void GaugeSeries::set(double v) { bits_.store(std::bit_cast<std::uint64_t>(v), std::memory_order_relaxed); }

HistogramSeries::HistogramSeries(const std::vector<double>& bounds)
    : bounds_(bounds),
      // bounds.size() finite buckets + the +Inf bucket + the sum, rounded up to whole lines
      lines_per_shard_((bounds.size() + 2 + 7) / 8),
      lines_(kShards * lines_per_shard_) {}

void HistogramSeries::observe(double v) {
    // Bucket i counts v <= bounds[i]; NaN compares false everywhere, so it lands in +Inf.
    std::size_t bucket = bounds_.size();
    if (!std::isnan(v)) {
        bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    }
    const std::size_t shard = shard_index();
    cell(shard, bucket).fetch_add(1, std::memory_order_relaxed);
    add_double(cell(shard, bounds_.size() + 1), v);
}

std::vector<std::uint64_t> HistogramSeries::bucket_counts() const {
    std::vector<std::uint64_t> counts(bounds_.size() + 1, 0);
    for (std::size_t shard = 0; shard < kShards; ++shard) {
        for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += cell(shard, i).load(std::memory_order_relaxed);
    }
    return counts;
}

double HistogramSeries::sum() const {
    double sum = 0;
    for (std::size_t shard = 0; shard < kShards; ++shard) sum += load_double(cell(shard, bounds_.size() + 1));
    return sum;
}

}  // namespace metrics_detail

template <class Series>
Series& FamilyBase<Series>::resolve(std::span<const std::string_view> values) {
    if (values.size() != label_names_.size()) {
        throw std::invalid_argument("metric " + name_ + " takes " + std::to_string(label_names_.size()) +
                                    " label values, got " + std::to_string(values.size()));
    }
    {
        std::shared_lock lock(mutex_);
        auto it = series_.find(values);
        if (it != series_.end()) return *it->second;
    }
    std::unique_lock lock(mutex_);
    auto it = series_.find(values);
    if (it != series_.end()) return *it->second;  // another thread created it meanwhile
    std::vector<std::string> key(values.begin(), values.end());
    return *series_.emplace(std::move(key), make_series()).first->second;
}

template <class Series>
LabelPairs FamilyBase<Series>::label_pairs(const std::vector<std::string>& values) const {
    LabelPairs pairs;
    pairs.reserve(values.size() + 1);
    for (std::size_t i = 0; i < values.size(); ++i) pairs.emplace_back(label_names_[i], values[i]);
    return pairs;
}

template class FamilyBase<metrics_detail::CounterSeries>;
template class FamilyBase<metrics_detail::GaugeSeries>;
template class FamilyBase<metrics_detail::HistogramSeries>;

MetricFamily CounterFamily::collect() const {
    MetricFamily family{name_, help_, MetricType::counter, {}};
    for_each_series([&](const std::vector<std::string>& values, const metrics_detail::CounterSeries& series) {
        family.samples.push_back({"", label_pairs(values), static_cast<double>(series.value())});
    });
    return family;
}

std::unique_ptr<metrics_detail::CounterSeries> CounterFamily::make_series() const {
    return std::make_unique<metrics_detail::CounterSeries>();
}

MetricFamily GaugeFamily::collect() const {
    MetricFamily family{name_, help_, MetricType::gauge, {}};
    for_each_series([&](const std::vector<std::string>& values, const metrics_detail::GaugeSeries& series) {
        family.samples.push_back({"", label_pairs(values), series.value()});
    });
    return family;
}

std::unique_ptr<metrics_detail::GaugeSeries> GaugeFamily::make_series() const {
    return std::make_unique<metrics_detail::GaugeSeries>();
}

HistogramFamily::HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                                 std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {
    // A trailing +Inf is implied by the format; accept it from callers who spell it out.
    if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
            throw std::invalid_argument("histogram " + name_ + ": bounds must be finite and strictly increasing");
        }
    }
    for (const auto& label : label_names_) {
        if (label == "le") throw std::invalid_argument("histogram " + name_ + ": label name 'le' is reserved");
    }
}

MetricFamily HistogramFamily::collect() const {
    MetricFamily family{name_, help_, MetricType::histogram, {}};
    for_each_series([&](const std::vector<std::string>& values, const metrics_detail::HistogramSeries& series) {
        const auto counts = series.bucket_counts();
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            LabelPairs labels = label_pairs(values);
            labels.emplace_back("le", i < bounds_.size() ? format_value(bounds_[i]) : "+Inf");
            family.samples.push_back({"_bucket", std::move(labels), static_cast<double>(cumulative)});
        }
        // _count is the +Inf bucket by construction, so a scrape never shows them disagreeing.
        family.samples.push_back({"_sum", label_pairs(values), series.sum()});
        family.samples.push_back({"_count", label_pairs(values), static_cast<double>(cumulative)});
    });
    return family;
}

std::unique_ptr<metrics_detail::HistogramSeries> HistogramFamily::make_series() const {
    return std::make_unique<metrics_detail::HistogramSeries>(bounds_);
}

void MetricsRegistry::check_new_name(const std::string& name, const std::vector<std::string>& label_names) const {
    if (!is_valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
    for (const auto& label : label_names) {
        if (!is_valid_label_name(label)) throw std::invalid_argument("metric " + name + ": invalid label " + label);
    }
    auto taken = [&](const auto& families) {
        return std::any_of(families.begin(), families.end(), [&](const auto& f) { return f->name() == name; });
    };
    if (taken(counters_) || taken(gauges_) || taken(histograms_)) {
        throw std::invalid_argument("metric registered twice: " + name);
    }
}

CounterFamily& MetricsRegistry::counter_family(std::string name, std::string help,
                                               std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    check_new_name(name, label_names);
    counters_.push_back(std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(label_names)));
    return *counters_.back();
}

GaugeFamily& MetricsRegistry::gauge_family(std::string name, std::string help,
                                           std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    check_new_name(name, label_names);
    gauges_.push_back(std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names)));
    return *gauges_.back();
}

HistogramFamily& MetricsRegistry::histogram_family(std::string name, std::string help,
                                                   std::vector<std::string> label_names,
                                                   std::vector<double> bounds) {
    std::lock_guard lock(mutex_);
    check_new_name(name, label_names);
    auto family = std::make_unique<HistogramFamily>(std::move(name), std::move(help), std::move(label_names),
                                                    std::move(bounds));
    histograms_.push_back(std::move(family));
    return *histograms_.back();
}

Counter MetricsRegistry::counter(std::string name, std::string help) {
    return counter_family(std::move(name), std::move(help), {}).with_labels({});
}

Gauge MetricsRegistry::gauge(std::string name, std::string help) {
    return gauge_family(std::move(name), std::move(help), {}).with_labels({});
}

Histogram MetricsRegistry::histogram(std::string name, std::string help, std::vector<double> bounds) {
    return histogram_family(std::move(name), std::move(help), {}, std::move(bounds)).with_labels({});
}

void MetricsRegistry::add_collector(Collector collector) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collector));
}

std::vector<MetricFamily> MetricsRegistry::collect() const {
    std::vector<MetricFamily> families;
    std::vector<Collector> collectors;
    {
        std::lock_guard lock(mutex_);
        for (const auto& f : counters_) families.push_back(f->collect());
        for (const auto& f : gauges_) families.push_back(f->collect());
        for (const auto& f : histograms_) families.push_back(f->collect());
        collectors = collectors_;
    }
    // Collectors may be slow (they read /proc or the store): run them outside the lock.
    for (const auto& collector : collectors) {
        for (auto& family : collector()) families.push_back(std::move(family));
    }
    std::stable_sort(families.begin(), families.end(),
                     [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
    return families;
}

}  // namespace broker
