// The setting names of the service this broker replaces, and what each means here: the same
// setting (same name, or another name for it), accepted and ignored (it has nothing left to
// tune), or refused at start-up with a message naming what replaces it. One table, so an
// operator's old environment either keeps working or stops with a message that says why.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/env_value.hpp"

namespace broker {

enum class LegacyTreatment {
    same,     // read under the same name with the same meaning
    alias,    // another name for `replacement`, read when `replacement` is unset
    ignored,  // accepted; nothing here to tune, said once in an info log line
    on_only,  // accepted when true (what the broker always does), refused when false
    refused,  // start-up stops with a message naming `replacement`
};

struct LegacySetting {
    std::string_view name;  // the original's name; ending in '*': every name with that prefix
    LegacyTreatment treatment;
    std::string_view replacement;  // the setting that takes its place (alias, refused)
    std::string_view why;          // said in the log line or the refusal
};

// Every name of the original service, in one table.
const std::vector<LegacySetting>& legacy_settings();

// The table's entry for `name` (a prefix entry matches names that start with it); nullptr
// when the name is not one of the original's.
const LegacySetting* find_legacy_setting(std::string_view name);

// `env` with the aliases resolved: asking for a replacement's name answers the alias's value
// when the replacement itself is unset.
EnvLookup with_legacy_aliases(EnvLookup env);

// Checks the names set in the environment (`present`, plus every exact name of the table as
// `env` answers it). Throws ConfigError for a refused name, or for an alias set beside its
// replacement to another value; returns the info lines to log for accepted-and-ignored names.
std::vector<std::string> check_legacy_settings(const std::vector<std::string>& present, const EnvLookup& env);

}  // namespace broker
