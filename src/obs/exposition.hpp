// Prometheus text exposition format 0.0.4: the plain data a scrape is made of (families of
// samples) and the one function that writes it out. Kept apart from the registry so the
// format can be checked with golden strings and so collectors can emit samples directly.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace broker {

enum class MetricType { counter, gauge, histogram };

std::string_view type_name(MetricType type);

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// One line of the exposition: `<family name><suffix>{labels} value`.
struct MetricSample {
    std::string suffix;  // "", "_bucket", "_sum", "_count"
    LabelPairs labels;
    double value = 0;
};

struct MetricFamily {
    std::string name;
    std::string help;
    MetricType type = MetricType::gauge;
    std::vector<MetricSample> samples;
};

// Content-Type of a /metrics answer in this format.
inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Writes the families in the order given (the registry sorts them by name).
std::string render_text(const std::vector<MetricFamily>& families);

// `\` -> `\\`, `"` -> `\"`, newline -> `\n`, as the format asks of label values.
std::string escape_label_value(std::string_view value);
// `\` -> `\\`, newline -> `\n`, as the format asks of HELP text.
std::string escape_help(std::string_view help);
// Shortest text that reads back to the same double; `+Inf`, `-Inf`, `NaN` spelled the
// Prometheus way. Also used for the `le` label of histogram buckets.
std::string format_value(double value);

// Name rules of the data model; the registry refuses anything else at registration.
bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);

}  // namespace broker
