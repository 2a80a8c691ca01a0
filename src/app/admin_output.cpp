// The admin command line's printing: see admin_output.hpp.
#include "app/admin_output.hpp"

#include <algorithm>
#include <ctime>

namespace broker {
namespace {

// Characters of UTF-8 text: every byte that does not continue a sequence starts one.
std::size_t display_width(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string printable(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return out;
}

}  // namespace

void print_table(std::ostream& out, const TableRow& headers, const std::vector<TableRow>& rows) {
    std::vector<std::size_t> widths(headers.size(), 0);
    const auto measure = [&](const TableRow& row) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            widths[i] = std::max(widths[i], display_width(row[i]));
        }
    };
    measure(headers);
    for (const auto& row : rows) measure(row);
    const auto print = [&](const TableRow& row) {
        std::string line;
        for (std::size_t i = 0; i < widths.size(); ++i) {
            const std::string& text = i < row.size() ? row[i] : std::string();
            line += text;
            if (i + 1 < widths.size()) line += std::string(widths[i] - display_width(text) + 2, ' ');
        }
        while (line.ends_with(' ')) line.pop_back();
        out << line << '\n';
    };
    print(headers);
    for (const auto& row : rows) print(row);
    out.flush();
}

std::string utc_time(long long unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

std::optional<long long> parse_utc_time(std::string_view text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (text.size() > 12) return std::nullopt;  // beyond year 33000: a typo, not a time
        return std::stoll(std::string(text));
    }
    const std::string input(text);
    std::tm tm{};
    const char* rest = strptime(input.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (rest == nullptr || *rest != '\0') return std::nullopt;
    const long long seconds = timegm(&tm);
    // strptime takes "2026-2-30T9:0:0Z" too: only the one exact spelling of a real instant counts.
    if (utc_time(seconds) != input) return std::nullopt;
    return seconds;
}

std::string cell(const nlohmann::ordered_json& value, bool is_time) {
    if (value.is_null()) return "-";
    if (value.is_string()) return printable(value.get<std::string>());
    if (is_time && value.is_number_integer()) return utc_time(value.get<long long>());
    if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
    return printable(value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

bool is_time_field(std::string_view name) {
    return name.ends_with("_at") || name == "lease_until";
}

std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string csv_record(const std::vector<std::string>& fields) {
    std::string line;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) line += ',';
        line += csv_field(fields[i]);
    }
    line += "\r\n";
    return line;
}

std::string csv_text(const nlohmann::ordered_json& value) {
    if (value.is_null()) return "";
    if (value.is_string()) return value.get<std::string>();
    return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace broker
