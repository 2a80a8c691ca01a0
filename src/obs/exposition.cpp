// Prometheus text exposition format 0.0.4 writer.
#include "obs/exposition.hpp"

#include <charconv>
#include <cmath>

namespace broker {

std::string_view type_name(MetricType type) {
    switch (type) {
        case MetricType::counter: return "counter";
        case MetricType::gauge: return "gauge";
        case MetricType::histogram: return "histogram";
    }
    return "untyped";
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes; keeps the line parseable
    return std::string(buf, end);
}

namespace {

bool is_name_start(char c, bool allow_colon) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool is_name_char(char c, bool allow_colon) { return is_name_start(c, allow_colon) || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name, bool allow_colon) {
    if (name.empty() || !is_name_start(name.front(), allow_colon)) return false;
    for (char c : name) {
        if (!is_name_char(c, allow_colon)) return false;
    }
    return true;
}

void append_labels(std::string& out, const LabelPairs& labels) {
    if (labels.empty()) return;
    out += '{';
    bool first = true;
    for (const auto& [name, value] : labels) {
        if (!first) out += ',';
        first = false;
        out += name;
        out += "=\"";
        out += escape_label_value(value);
        out += '"';
    }
    out += '}';
}

}  // namespace

bool is_valid_metric_name(std::string_view name) { return is_valid_name(name, true); }

bool is_valid_label_name(std::string_view name) {
    // Names starting with "__" are reserved for Prometheus itself.
    return is_valid_name(name, false) && name.substr(0, 2) != "__";
}

std::string render_text(const std::vector<MetricFamily>& families) {
    std::string out;
    out.reserve(families.size() * 128);
    for (const auto& family : families) {
        out += "# HELP ";
        out += family.name;
        out += ' ';
        out += escape_help(family.help);
        out += "\n# TYPE ";
        out += family.name;
        out += ' ';
        out += type_name(family.type);
        out += '\n';
        for (const auto& sample : family.samples) {
            out += family.name;
            out += sample.suffix;
            append_labels(out, sample.labels);
            out += ' ';
            out += format_value(sample.value);
            out += '\n';
        }
    }
    return out;
}

}  // namespace broker
