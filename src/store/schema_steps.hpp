// The rules every store's schema steps follow, in one place: steps are appended, never edited;
// from each store's kExpandOnlyFrom on every step only adds (new tables, columns with defaults,
// plain indexes), so the release before keeps running on a store the next one migrated. A
// store records, beside its version, the oldest binary version that can still run on it
// ("compatible from"); a binary never downgrades a newer store, and runs on one only when it
// is at least that version.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.hpp"

namespace broker {

struct SchemaStep {
    std::string_view summary;  // one line: what the step adds (migrate --status prints it)
    std::string_view sql;
    // False only for the steps that predate the expand-only rule: an older binary cannot run
    // beside them, so a store that has them is compatible from their version on.
    bool expand_only = true;
};

// The oldest binary version that can run on a store at `version`: the last step up to it
// that was not expand-only (0 when every step was).
int compatible_from(std::span<const SchemaStep> steps, int version);

// The status of a store at `store_version` whose recorded "compatible from" is `recorded`
// (nothing: a store migrated before the record existed, or a new one), for a binary that
// knows `steps`.
SchemaStatus schema_status_of(std::span<const SchemaStep> steps, int store_version,
                              std::optional<int> recorded);

// Why `sql` is not an expand-only step (a DROP, a RENAME, a changed column, a NOT NULL
// column without a default, a new UNIQUE index), or nothing when it only adds.
std::optional<std::string> expand_only_violation(std::string_view sql);

// What a process about to use the store does with its schema.
enum class SchemaVerdict {
    migrate,       // the store is this binary's version or older: bring it up to date
    run_newer,     // newer, but it says binaries of this version may run on it: use as is
    refuse_newer,  // newer and not compatible with this binary: stop
};

SchemaVerdict decide_schema(const SchemaStatus& status);

// "store schema version 7 is newer than this binary's (5) and compatible from version 5":
// for the refusals.
std::string describe_newer_store(const SchemaStatus& status);

}  // namespace broker
