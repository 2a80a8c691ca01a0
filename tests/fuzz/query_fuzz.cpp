// libFuzzer target: admin query strings (http/query). A query parses into names and values
// without control characters, or is refused as a whole; looking a name up never fails.
#include <string>

#include "fuzz_check.hpp"
#include "http/query.hpp"

namespace {

bool has_control(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using broker::fuzz::check;
    const std::string_view query = broker::fuzz::as_text(data, size);
    const auto params = broker::parse_query(query);
    if (!params) return 0;
    for (const auto& [name, value] : *params) {
        check(!has_control(name) && !has_control(value));
        const auto found = broker::query_value(*params, name);
        check(found && *found == value);
    }
    (void)broker::query_value(*params, "status");
    return 0;
}
