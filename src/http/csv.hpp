// CSV as RFC 4180 writes it: fields separated by commas, lines ended by CRLF, a field quoted
// (its quotes doubled) when it holds a comma, a quote, CR or LF. A text field a spreadsheet
// would run as a formula (starting with =, +, -, @, a tab or CR) is written with a leading
// apostrophe, as OWASP advises for exports opened in spreadsheets.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace broker {

// Appends one field (no separator).
void append_csv_field(std::string& out, std::string_view field);

// Appends one record: the fields separated by commas, then CRLF.
void append_csv_record(std::string& out, std::initializer_list<std::string_view> fields);

}  // namespace broker
