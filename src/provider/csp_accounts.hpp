// The provider's account list (ARCHITECTURE §5) read into ProviderSandbox records. Pure
// parsing, no I/O: used by `sandbox-broker import` and by the CSP client's sync.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/sandbox.hpp"

namespace broker {

struct CspAccountList {
    std::vector<ProviderSandbox> sandboxes;  // active sandbox accounts, in the list's order
    std::size_t ignored = 0;                 // entries that are not active sandboxes
};

// Parses `{"results": [...]}`; keeps entries with account_type "sandbox" and state
// "active" (sandbox_id = str(csp_id), external_id = id). Throws std::invalid_argument
// with a readable reason when the text is not such a list (HTML error pages included).
CspAccountList parse_csp_accounts(std::string_view body);

}  // namespace broker
