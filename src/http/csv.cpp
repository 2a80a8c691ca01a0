// CSV fields and records: see csv.hpp.
#include "http/csv.hpp"

namespace broker {

void append_csv_field(std::string& out, std::string_view field) {
    const bool formula =
        !field.empty() && std::string_view("=+-@\t\r").find(field.front()) != std::string_view::npos;
    const bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos;
    if (quote) out += '"';
    if (formula) out += '\'';
    for (const char c : field) {
        if (c == '"') out += '"';
        out += c;
    }
    if (quote) out += '"';
}

void append_csv_record(std::string& out, std::initializer_list<std::string_view> fields) {
    bool first = true;
    for (const auto field : fields) {
        if (!first) out += ',';
        first = false;
        append_csv_field(out, field);
    }
    out += "\r\n";
}

}  // namespace broker
