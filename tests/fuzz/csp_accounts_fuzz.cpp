// libFuzzer target: the provider's account list (provider/csp_accounts), the body sync reads
// from the CSP and `import` reads from a file. Any bytes either parse into sandboxes with the
// fields the store needs (a numeric sandbox id, the provider's id; the name may be empty: a
// null or missing name reads as ""), or are refused with std::invalid_argument; nothing
// else escapes.
#include <stdexcept>

#include "fuzz_check.hpp"
#include "provider/csp_accounts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using broker::fuzz::check;
    try {
        const broker::CspAccountList list = broker::parse_csp_accounts(broker::fuzz::as_text(data, size));
        for (const auto& sandbox : list.sandboxes) {
            check(!sandbox.sandbox_id.empty());
            check(sandbox.sandbox_id.find_first_not_of("0123456789") == std::string::npos);
            check(!sandbox.external_id.empty());
        }
    } catch (const std::invalid_argument& e) {
        check(e.what()[0] != '\0');  // a reason is always given
    }
    return 0;
}
