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

// Fills `out` with up to `size` more bytes of a list; 0 at its end.
using CspBodyReader = std::function<std::size_t(char* out, std::size_t size)>;
// Bounds on one piece of a list read from a reader (an answer arriving over the network),
// checked on the bytes before the parser buffers them: the whole list has no bound.
inline constexpr std::size_t kMaxCspValueBytes = 64 * 1024;    // one string or number
inline constexpr std::size_t kMaxCspEntryBytes = 1024 * 1024;  // one entry of "results"
// From a reader, a piece at a time, as the list arrives: as stream_csp_accounts, and a string
// or number longer than kMaxCspValueBytes, or an entry longer than kMaxCspEntryBytes, is
// refused (std::invalid_argument) before it is held whole. A reader that stops early (0 before
// the end) makes a truncated list, refused as such.
CspAccountCounts stream_csp_accounts(const CspBodyReader& read, const CspAccountSink& sink);

}  // namespace broker
