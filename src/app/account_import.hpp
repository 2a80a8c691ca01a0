// `sandbox-broker import FILE`: a provider account list read from a file into the store as
// available sandboxes, streamed, so memory stays flat whatever the list's length.
#pragma once

#include <cstddef>
#include <istream>

#include "core/clock.hpp"
#include "provider/csp_accounts.hpp"
#include "store/store.hpp"

namespace broker {

// Sandboxes per store write: the stores split it further (SQLite and PostgreSQL write 1 000
// rows per transaction); this only bounds what the import holds at once.
inline constexpr std::size_t kImportChunk = 10'000;

struct AccountImport {
    UpsertSummary summary;
    std::size_t listed = 0;   // active sandboxes in the list
    std::size_t ignored = 0;  // entries that are not active sandboxes
};

// Reads the whole list once without keeping it: throws std::invalid_argument (with the entry's
// position, or the byte of a syntax error) when it is not an account list. `import` checks
// first, so a faulty list writes nothing.
CspAccountCounts check_account_list(std::istream& in);

// Reads the list from the start and upserts it `chunk` sandboxes at a time. A list that turns
// out faulty now (the file changed after the check) throws std::runtime_error naming what was
// already written.
AccountImport import_account_list(std::istream& in, Store& store, UnixSeconds now,
                                  std::size_t chunk = kImportChunk);

}  // namespace broker
