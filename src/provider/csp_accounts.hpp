// The provider's account list (ARCHITECTURE §5) read into ProviderSandbox records. Pure
// parsing, no I/O of its own: used by `sandbox-broker import` (streamed from the file) and by
// the CSP client's sync (the answer's body).
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
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

// What a streamed read saw.
struct CspAccountCounts {
    std::size_t active = 0;   // entries handed to the sink
    std::size_t ignored = 0;  // entries that are not active sandboxes
};
using CspAccountSink = std::function<void(ProviderSandbox&& sandbox)>;

// The same reading as parse_csp_accounts, one entry at a time: only the entry being read is
// held (nlohmann-json's SAX interface), whatever the list's length, and each active sandbox
// goes to `sink` in the list's order. Throws std::invalid_argument as parse_csp_accounts
// does; the sink may already have been given the entries before the fault, so a caller that
// must not act on half a list reads it once to check it before it acts.
CspAccountCounts stream_csp_accounts(std::string_view body, const CspAccountSink& sink);
// From a stream (a file): its first bytes are read for the error messages, then it is read
// again from where it was, so it must be seekable.
CspAccountCounts stream_csp_accounts(std::istream& in, const CspAccountSink& sink);

}  // namespace broker
