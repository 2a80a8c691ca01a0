// CSV as the export writes it: RFC 4180 quoting and the spreadsheet-formula guard.
#include <gtest/gtest.h>

#include "http/csv.hpp"

namespace broker {
namespace {

std::string record(std::initializer_list<std::string_view> fields) {
    std::string out;
    append_csv_record(out, fields);
    return out;
}

TEST(HttpCsv, PlainFieldsAreWrittenAsTheyAreWithCrlf) {
    EXPECT_EQ(record({"2009521", "demo-sandbox-0000", "", "allocated"}),
              "2009521,demo-sandbox-0000,,allocated\r\n");
}

TEST(HttpCsv, CommasQuotesAndLineBreaksAreQuotedWithQuotesDoubled) {
    EXPECT_EQ(record({"a,b"}), "\"a,b\"\r\n");
    EXPECT_EQ(record({"say \"hi\""}), "\"say \"\"hi\"\"\"\r\n");
    EXPECT_EQ(record({"two\nlines", "cr\rhere"}), "\"two\nlines\",\"cr\rhere\"\r\n");
}

TEST(HttpCsv, FieldsASpreadsheetWouldRunAsFormulasGetAnApostrophe) {
    EXPECT_EQ(record({"=HYPERLINK(\"x\")"}), "\"'=HYPERLINK(\"\"x\"\")\"\r\n");
    EXPECT_EQ(record({"+1", "-2", "@sum", "\tx"}), "'+1,'-2,'@sum,'\tx\r\n");
    EXPECT_EQ(record({"a=b"}), "a=b\r\n");  // only at the start
}

}  // namespace
}  // namespace broker
